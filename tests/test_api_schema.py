"""The OpenAPI schema tells the truth: every operation's answers match what it documents.

A bounded schemathesis run (a fixed seed, a few examples per operation) against the API as a
superuser, on a database holding one object of every kind, so documented bodies are really read.
Twilio is not configured here (`console_only`): anything paged is printed, never sent outside.
"""

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import ApiToken
from audit.models import AuditEntry
from paging.models import MaintenanceWindow, NotificationRule
from schedules.models import (
    CalendarFeed,
    Layer,
    LayerMember,
    LayerRestriction,
    Override,
    Schedule,
)
from tests.factories import IntegrationFactory, UserFactory
from tests.paging.test_escalation_engine import trigger

CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def console_only(settings) -> None:
    """Page through the console channel whatever the environment says: nothing leaves."""
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM_NUMBER = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def stored(payments, alice, bob, console_only) -> dict[str, int]:
    """Store one object of every kind the API serves; return its id by collection name."""
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=schedule, shift_unit="days")
    LayerMember.objects.create(layer=layer, user=alice, position=0)
    LayerRestriction.objects.create(
        layer=layer,
        kind="weekly",
        start_day=0,
        start_time=dt.time(9),
        end_day=4,
        end_time=dt.time(17),
    )
    now = timezone.now()
    hour = dt.timedelta(hours=1)
    sms = alice.contact_methods.get(kind="sms")
    return {
        "incidents": trigger(payments).pk,  # open: nobody has acknowledged or resolved it
        "services": payments.pk,
        "maintenance-windows": MaintenanceWindow.objects.create(
            service=payments, starts_at=now + hour, ends_at=now + 2 * hour
        ).pk,
        "integrations": IntegrationFactory(service=payments).pk,
        "escalation-policies": payments.escalation_policy_id,
        "schedules": schedule.pk,
        "overrides": Override.objects.create(
            schedule=schedule, user=bob, start=now, end=now + hour
        ).pk,
        "calendar-feeds": CalendarFeed.objects.create(schedule=schedule).pk,
        "users": bob.pk,
        "contact-methods": sms.pk,
        "notification-rules": NotificationRule.objects.create(user=alice, contact_method=sms).pk,
        "api-tokens": ApiToken.issue(user=alice, name="cron")[0].pk,
        "teams": payments.team_id,
        # The audit log recorded the changes above.
        "audit-log": AuditEntry.objects.latest().pk,
    }


@pytest.fixture
def root_token(db) -> str:
    """Return a bearer token of a superuser, who may call every operation."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    _, raw = ApiToken.issue(user=root, name="schemathesis")
    return f"Bearer {raw}"


@pytest.fixture
def test_connection():
    """Keep the test's database connection open across requests, as Django's test client does.

    Django closes it at the end of each request; the test's transaction lives on it.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(stored, root_token, test_connection):
    """Load the schema as clients do, from the API itself, through Django's test setup."""
    app = get_wsgi_application()
    auth = {"Authorization": root_token}
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, headers=auth)


def _answers_as_documented(operation, stored: dict[str, int], auth: dict[str, str]) -> None:
    """Call `operation` with a few generated requests; raise on the first undocumented answer."""
    path = {"id": stored[operation.path.split("/")[3]]} if "{id}" in operation.path else None

    # A fixed seed (the same requests on every run) and a few examples: bounded in time.
    @settings(
        max_examples=3, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(path_parameters=path, headers=auth))
    def run(case) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


def test_every_operation_answers_as_its_schema_says(api_schema, stored, root_token):
    auth = {"Authorization": root_token}
    wrong = {}
    operations = [found.ok() for found in api_schema.get_all_operations()]
    # Deletes last, so the other operations on an object answer with its body, not a 404.
    for operation in sorted(operations, key=lambda op: op.method.lower() == "delete"):
        try:
            _answers_as_documented(operation, stored, auth)
        except (Exception, FailureGroup) as exc:  # every operation that strays, not the first
            wrong[operation.label] = str(exc)[:1500]

    assert not wrong, "\n\n".join(f"{label}:\n{why}" for label, why in wrong.items())


def test_oncall_and_shifts_answer_plain_lists_as_documented(api_schema, stored, root_token):
    path = {"id": stored["schedules"]}
    window = {"start": "2026-01-05T08:00:00Z", "end": "2026-01-08T08:00:00Z"}
    asks = [("/api/v1/schedules/{id}/oncall/", {}), ("/api/v1/schedules/{id}/shifts/", window)]
    for route, query in asks:
        case = api_schema[route]["GET"].Case(path_parameters=path, query=query)

        response = case.call_and_validate(headers={"Authorization": root_token}, checks=CHECKS)

        assert isinstance(response.json(), list)


@pytest.mark.parametrize("collection", ["incidents", "schedules", "users", "services"])
def test_an_id_with_a_trailing_carriage_return_names_nothing(collection, stored, root_token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=root_token)

    response = api.get(f"/api/v1/{collection}/{stored[collection]}%0D/")

    assert response.status_code == 404


@pytest.mark.parametrize("value", ["6477620280484282195639271424", "²"])
def test_a_filter_id_no_database_can_hold_is_a_400_naming_the_parameter(value, root_token, db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=root_token)

    response = api.get("/api/v1/overrides/", {"user": value})

    assert response.status_code == 400
    assert response.json() == {"user": "must be an id (a whole number)"}
