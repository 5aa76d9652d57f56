"""Every write to the API refuses fields it does not know (400 naming them); webhooks do not.

And every write answers a number no float can hold (1e400) in any field with a 400, never a 5xx.
"""

import datetime as dt
import json

import pytest
from django.apps import apps
from django.urls import reverse
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from escalation.models import EscalationPolicy
from oncall.api import router
from oncall.apibase import StrictFields
from paging.models import Incident, Service
from schedules.models import Layer, LayerMember, Override, Schedule
from tests.api_objects import one_of_each
from tests.conftest import client_for
from tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = ("accounts", "escalation", "paging", "schedules")
WRITE_METHODS = ("post", "put", "patch")


def _write_routes() -> list[tuple[str, str, str, bool]]:
    """Return (url name, method, basename, on one object) for every write the router serves."""
    found = []
    for _, viewset, basename in router.registry:
        for route in router.get_routes(viewset):
            for method, action in route.mapping.items():
                if method in WRITE_METHODS and hasattr(viewset, action):
                    name = route.name.format(basename=basename)
                    found.append((name, method, basename, "{lookup}" in route.url))
    return found


WRITES = _write_routes()


def stored() -> dict[str, list[dict]]:
    """Return every row of our apps' tables (the token's once-a-minute last use aside)."""
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in OUR_APPS:
            values = model.objects.order_by("pk").values()
            rows[model._meta.label] = [
                {k: v for k, v in row.items() if k != "last_used_at"} for row in values
            ]
    return rows


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def staff(root):
    client = client_for(root)
    client.get("/api/v1/incidents/")  # the token's first use writes last_used_at
    return client


@pytest.fixture
def schedule(alice, bob):
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=schedule, name="days", handoff_date=dt.date(2026, 1, 5))
    LayerMember.objects.create(layer=layer, user=alice)
    LayerMember.objects.create(layer=layer, user=bob, position=1)
    layer.restrictions.create(kind="daily", start_time=dt.time(9), end_time=dt.time(17))
    return schedule


@pytest.fixture
def world(root, alice, bob, payments, schedule):
    """One object behind each detail URL of the API."""
    return one_of_each(owner=alice, service=payments, schedule=schedule, covering=bob)


def test_the_router_walk_finds_every_kind_of_write():
    names = {name for name, *_ in WRITES}

    assert {"service-list", "schedule-detail", "incident-acknowledge"} <= names
    assert {"contactmethod-verify", "integration-rotate-key", "apitoken-revoke"} <= names
    assert len(WRITES) >= 30


@pytest.mark.parametrize(
    ("name", "method", "basename", "detail"), WRITES, ids=[f"{m} {n}" for n, m, *_ in WRITES]
)
def test_every_write_endpoint_refuses_an_unknown_field_and_stores_nothing(
    staff, world, name, method, basename, detail
):
    url = reverse(name, kwargs={"pk": world[basename].pk} if detail else {})
    before = stored()

    response = getattr(staff, method)(url, {"zzz_unknown": 1}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["zzz_unknown"] == ["Unknown field."]
    assert stored() == before


def _nested(serializer: serializers.BaseSerializer):
    """Yield `serializer` and every serializer nested in it that takes input."""
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    yield serializer
    for field in serializer.fields.values():
        if isinstance(field, serializers.BaseSerializer) and not field.read_only:
            yield from _nested(field)


VIEWSETS = {basename: viewset for _, viewset, basename in router.registry}
SAVES = [(b, a) for b, v in VIEWSETS.items() for a in ("create", "update") if hasattr(v, a)]


@pytest.mark.parametrize(("basename", "action"), SAVES)
def test_every_serializer_that_takes_input_refuses_unknown_fields(basename, action):
    view = VIEWSETS[basename](action=action, request=None, format_kwarg=None, kwargs={})

    for serializer in _nested(view.get_serializer_class()()):
        assert isinstance(serializer, StrictFields), type(serializer).__name__


HUGE = "1e400"  # past float's range: json.loads made it infinity, which no integer lookup takes


def _huge_everywhere(field: serializers.Field) -> object:
    """Return a value for `field` with the huge number in each place a value goes."""
    if isinstance(field, serializers.ListSerializer):
        return [_huge_everywhere(field.child)]
    if isinstance(field, serializers.BaseSerializer):
        return {name: _huge_everywhere(child) for name, child in field.fields.items()}
    if isinstance(field, serializers.ListField | serializers.ManyRelatedField):
        return [HUGE]
    return HUGE


@pytest.mark.parametrize(
    ("name", "method", "basename", "detail"), WRITES, ids=[f"{m} {n}" for n, m, *_ in WRITES]
)
def test_every_write_endpoint_answers_a_huge_number_in_any_field_with_400(
    staff, world, name, method, basename, detail
):
    action = {"post": "create", "put": "update", "patch": "partial_update"}[method]
    view = VIEWSETS[basename](action=action, request=None, format_kwarg=None, kwargs={})
    body = _huge_everywhere(view.get_serializer_class()())
    url = reverse(name, kwargs={"pk": world[basename].pk} if detail else {})
    before = stored()

    raw = json.dumps(body).replace(f'"{HUGE}"', HUGE)
    response = getattr(staff, method)(url, raw, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert stored() == before


def test_json_nested_past_the_recursion_limit_is_400_not_500(staff):
    raw = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = staff.post("/api/v1/services/", raw, content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_misspelt_field_of_a_service_is_400_with_the_likely_name(staff, payments):
    body = {"name": "db", "escalation_polcy": payments.escalation_policy_id}

    response = staff.post("/api/v1/services/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "escalation_polcy": ['Unknown field. Did you mean "escalation_policy"?']
    }
    assert not Service.objects.filter(name="db").exists()


def test_misspelt_time_zone_of_a_person_is_400_and_nobody_is_added(staff):
    body = {"username": "carol", "timezone": "Europe/Berlin"}

    response = staff.post("/api/v1/users/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"timezone": ['Unknown field. Did you mean "time_zone"?']}
    assert not User.objects.filter(username="carol").exists()


def test_unknown_field_is_named_alongside_the_other_problems(staff, root):
    response = staff.post("/api/v1/api-tokens/", {"nme": "CI deploys"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "nme": ['Unknown field. Did you mean "name"?'],
        "name": ["This field is required."],
    }
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["test"]


def test_unknown_keys_inside_layers_and_restrictions_are_named_by_their_place(staff, alice):
    good = {"name": "days", "handoff_date": "2026-01-05", "participants": [alice.pk]}
    bad = {
        "name": "nights",
        "handoff_date": "2026-01-05",
        "participant": [alice.pk],
        "restrictions": [{"kind": "daily", "strat_time": "22:00", "end_time": "06:00"}],
    }

    response = staff.post(
        "/api/v1/schedules/", {"name": "Primary", "layers": [good, bad]}, format="json"
    )

    assert response.status_code == 400
    # DRF names a list item's errors by its index; the required start_time is still said.
    assert response.json() == {
        "layers": {
            "1": {
                "participant": ['Unknown field. Did you mean "participants"?'],
                "restrictions": {
                    "0": {
                        "strat_time": ['Unknown field. Did you mean "start_time"?'],
                        "start_time": ["This field is required."],
                    }
                },
            }
        }
    }
    assert not Schedule.objects.exists()


def test_unknown_key_in_a_tier_leaves_the_policy_as_it_was(staff, payments, alice, bob):
    policy = payments.escalation_policy
    tiers = [{"ack_timeout": "00:05:00", "user": [bob.pk]}]

    response = staff.patch(
        f"/api/v1/escalation-policies/{policy.pk}/", {"repeat": 3, "tiers": tiers}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"tiers": {"0": {"user": ['Unknown field. Did you mean "users"?']}}}
    policy = EscalationPolicy.objects.get(pk=policy.pk)
    assert policy.repeat == 0
    assert [list(t.users.all()) for t in policy.tiers.order_by("position")] == [[alice], [bob]]


def test_misspelt_override_field_on_patch_changes_nothing(staff, schedule, alice, bob):
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    override = Override.objects.create(
        schedule=schedule, user=bob, start=when, end=when + dt.timedelta(hours=8)
    )

    response = staff.patch(
        f"/api/v1/overrides/{override.pk}/", {"replace": alice.pk, "end": "2026-01-02T00:00Z"}
    )

    assert response.status_code == 400
    assert response.json() == {"replace": ['Unknown field. Did you mean "replaces"?']}
    override.refresh_from_db()
    assert (override.replaces, override.end) == (None, when + dt.timedelta(hours=8))


def test_acknowledging_with_a_body_it_does_not_take_is_400_and_pages_on(staff, world):
    incident = world["incident"]

    response = staff.post(
        f"/api/v1/incidents/{incident.pk}/acknowledge/", {"note": "on it"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"note": ["Unknown field."]}
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert staff.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 200


@pytest.mark.parametrize(
    "basename",
    [
        "service",
        "maintenancewindow",
        "integration",
        "escalationpolicy",
        "schedule",
        "override",
        "user",
        "contactmethod",
        "notificationrule",
    ],
)
def test_what_a_get_answers_can_be_put_back_unchanged(staff, world, basename):
    url = reverse(f"{basename}-detail", kwargs={"pk": world[basename].pk})
    got = staff.get(url).json()

    response = staff.put(url, got, format="json")

    assert response.status_code == 200, response.json()
    assert staff.get(url).json() == response.json()
    assert _without_ids(response.json()) == _without_ids(got)


def _without_ids(body: dict) -> dict:
    """Return `body` without the ids of nested layers, which are replaced as a whole."""
    layers = [{k: v for k, v in la.items() if k != "id"} for la in body.get("layers", [])]
    return {**body, "layers": layers} if "layers" in body else body


def test_the_browsable_apis_form_token_is_not_an_unknown_field(root):
    client = APIClient()
    client.force_login(root)

    response = client.post("/api/v1/services/", {"name": "db", "csrfmiddlewaretoken": "x" * 64})

    assert response.status_code == 201, response.json()


def test_webhooks_keep_ignoring_fields_they_do_not_use(client, payments):
    integration = IntegrationFactory(service=payments, kind="generic")
    body = {"summary": "Disk full", "monitor": {"id": 7}, "escalation_polcy": "whatever"}

    response = client.post(
        f"/integrations/{integration.key}/", body, content_type="application/json"
    )

    assert response.status_code == 202
    assert Incident.objects.get().summary == "Disk full"
