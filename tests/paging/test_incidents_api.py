"""The incidents API: token authentication, filters, detail, and acknowledge/resolve/escalate."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident, Notification
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory, join

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice):
    join(alice, "responder")  # of the Default team, which owns the services made here
    _, raw = ApiToken.issue(user=alice, name="laptop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def integration(payments):
    return IntegrationFactory(service=payments, name="prometheus")


def trigger(integration, summary="Disk full", key="") -> Incident:
    event = Event(action="trigger", summary=summary, dedup_key=key)
    return alert_ingest(integration=integration, event=event, payload={"summary": summary})


def test_no_token_is_401_with_bearer_challenge(db):
    response = APIClient().get("/api/v1/incidents/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_wrong_or_revoked_token_is_401(alice):
    token, raw = ApiToken.issue(user=alice, name="old")
    token.revoked_at = timezone.now()
    token.save()
    for value in (f"Bearer {raw}", "Bearer oc_not-a-token"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=value)
        response = client.get("/api/v1/incidents/")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or revoked token."}


def test_token_is_stored_only_as_a_digest(alice):
    token, raw = ApiToken.issue(user=alice, name="ci")

    assert raw.startswith("oc_") and len(raw) > 40
    assert raw not in (token.digest, token.hint)
    assert token.hint == raw[:10]


def test_list_is_newest_first_and_filters_by_status_service_and_since(api, integration):
    other = IntegrationFactory(service=ServiceFactory(name="search"))
    with time_machine.travel(timezone.now() - dt.timedelta(days=2)):
        old = trigger(integration, "old")
    first = trigger(integration, "first")
    second = trigger(other, "second")
    api.post(f"/api/v1/incidents/{first.pk}/acknowledge/")

    def ids(query=""):
        response = api.get(f"/api/v1/incidents/{query}")
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["results"]]

    assert ids() == [second.pk, first.pk, old.pk]
    assert ids("?status=triggered") == [second.pk, old.pk]
    assert ids("?status=acknowledged,resolved") == [first.pk]
    assert ids("?service=search") == [second.pk]
    assert ids(f"?service={integration.service.pk}") == [first.pk, old.pk]
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert ids(f"?since={since.replace('+', '%2B')}") == [second.pk, first.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=sleeping", "status"),
        ("?since=yesterday", "since"),
        ("?since=2026-01-01T00:00", "since"),
    ],
)
def test_bad_filter_is_400_naming_it(api, query, field):
    response = api.get(f"/api/v1/incidents/{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_list_is_paginated(api, integration):
    integration.service.storm_cap = 0
    integration.service.save()
    for n in range(7):
        trigger(integration, f"n{n}")

    page = api.get("/api/v1/incidents/?page_size=5").json()

    assert page["count"] == 7
    assert len(page["results"]) == 5
    assert page["next"].endswith("page=2&page_size=5")


def test_list_queries_do_not_grow_with_incidents(api, integration):
    integration.service.storm_cap = 0
    integration.service.save()
    trigger(integration)
    api.get("/api/v1/incidents/")  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/incidents/")
    for n in range(30):
        trigger(integration, f"n{n}")
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/incidents/").json()["results"]) == 31

    assert len(many) == len(one)


def test_detail_has_alerts_and_timeline(api, integration, twilio):
    incident = trigger(integration, key="db1")
    trigger(integration, summary="Disk still full", key="db1")
    incident_escalate(incident.pk)

    body = api.get(f"/api/v1/incidents/{incident.pk}/").json()

    assert body["number"] == f"#{incident.pk}"
    assert body["service"] == {"id": integration.service.pk, "name": "payments"}
    assert body["alert_count"] == 2
    assert [a["summary"] for a in body["alerts"]] == ["Disk still full", "Disk full"]
    assert body["alerts"][1]["payload"] == {"summary": "Disk full"}
    assert [e["kind"] for e in body["timeline"]] == ["triggered", "alert_added", "escalated"]
    assert body["escalation_level"] == 1


def test_unknown_incident_is_404(api):
    assert api.get("/api/v1/incidents/999999/").status_code == 404


def test_acknowledge_stops_escalation_and_says_who_and_how(api, integration, alice):
    incident = trigger(integration)

    response = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["acknowledged_by"]) == ("acknowledged", "Alice Adams")
    assert body["acknowledged_via"] == "API token laptop"
    assert body["escalation_due_at"] is None
    again = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert again.status_code == 409
    assert "only a triggered one" in again.json()["error"]


def test_resolve_then_resolve_again_is_409(api, integration):
    incident = trigger(integration)

    assert api.post(f"/api/v1/incidents/{incident.pk}/resolve/").json()["status"] == "resolved"
    assert api.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 409


def test_escalate_pages_the_next_level_now_and_retriggers_an_acknowledged_incident(
    api, integration, twilio, bob
):
    incident = trigger(integration)
    incident_escalate(incident.pk)  # Level 1: Alice
    api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")

    response = api.post(f"/api/v1/incidents/{incident.pk}/escalate/")
    incident_escalate(incident.pk)  # what the enqueued task does

    assert response.status_code == 200
    assert response.json()["status"] == "triggered"
    paged = Notification.objects.filter(incident=incident, tier=1).values_list("user", flat=True)
    assert list(paged) == [bob.pk]
    messages = [e.message for e in Incident.objects.get(pk=incident.pk).timeline.all()]
    assert (
        "Escalated by Alice Adams via API token laptop (re-triggered from acknowledged)" in messages
    )
    assert "Level 2 paged: Bob Brown" in messages


def test_incidents_cannot_be_created_or_deleted_through_the_api(api, integration):
    incident = trigger(integration)

    assert api.post("/api/v1/incidents/", {"summary": "x"}).status_code == 405
    assert api.delete(f"/api/v1/incidents/{incident.pk}/").status_code == 405


def test_schema_describes_the_incident_actions(db):
    schema = APIClient().get("/api/v1/schema/?format=json").json()

    assert "/api/v1/incidents/{id}/acknowledge/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/v1/incidents/"]["get"]["parameters"]}
    assert {"status", "service", "since", "page", "page_size"} <= params


def staff_client(user):
    _, raw = ApiToken.issue(user=user, name="admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_integrations_show_full_urls_and_rotate_for_staff_only(api, integration, settings):
    settings.PUBLIC_URL = "https://oncall.example.com"
    staff = staff_client(UserFactory(username="root", is_staff=True, is_superuser=True))

    # Keys are secrets: a responder of the team does not see its integrations at all.
    assert api.get("/api/v1/integrations/").json()["results"] == []
    assert api.get(f"/api/v1/integrations/{integration.pk}/").status_code == 404
    (listed,) = staff.get("/api/v1/integrations/").json()["results"]
    assert listed["url"] == f"https://oncall.example.com/integrations/{integration.key}/"
    rotated = staff.post(f"/api/v1/integrations/{integration.pk}/rotate-key/").json()
    assert rotated["url"] != listed["url"]
    assert (
        APIClient().post(listed["url"].removeprefix("https://oncall.example.com"), {}).status_code
        == 404
    )


def test_schema_validates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))

    assert "bearerToken" in (tmp_path / "s.yml").read_text()
