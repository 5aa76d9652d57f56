"""Posting generic JSON alerts to an integration URL."""

import json

import pytest

from paging.models import Alert, Incident, TimelineEntry
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_ingest_paths")]


@pytest.fixture
def integration(payments):
    return IntegrationFactory(service=payments, name="cron jobs")


def post(client, integration, body, content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"/integrations/{integration.key}/", data, content_type=content_type)


def test_alert_opens_incident_with_timeline(client, integration):
    response = post(
        client,
        integration,
        {"summary": "Disk full on db1", "severity": "warning", "dedup_key": "d"},
    )

    assert response.status_code == 202
    incident = Incident.objects.get()
    assert response.json() == {"status": "accepted", "incidents": [incident.pk]}
    assert (incident.summary, incident.severity, incident.status) == (
        "Disk full on db1",
        "warning",
        "triggered",
    )
    assert incident.escalation_due_at is not None
    assert [e.message for e in incident.timeline.all()] == ["Triggered by cron jobs"]


def test_same_dedup_key_joins_the_open_incident(client, integration):
    for _ in range(3):
        post(client, integration, {"summary": "Disk full", "dedup_key": "db1-disk"})

    incident = Incident.objects.get()
    assert incident.alert_count == 3
    assert Alert.objects.filter(incident=incident).count() == 3


def test_alerts_without_dedup_key_open_separate_incidents(client, integration):
    post(client, integration, {"summary": "one"})
    post(client, integration, {"summary": "two"})

    assert Incident.objects.count() == 2


def test_resolve_action_resolves_and_next_trigger_opens_a_new_incident(client, integration):
    post(client, integration, {"summary": "Disk full", "dedup_key": "k"})
    response = post(client, integration, {"action": "resolve", "dedup_key": "k"})
    post(client, integration, {"summary": "Disk full again", "dedup_key": "k"})

    assert response.status_code == 202
    first, second = Incident.objects.order_by("pk")
    assert first.status == "resolved"
    assert "Resolved by integration cron jobs" in first.timeline.last().message
    assert second.status == "triggered"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"severity": "critical"}, "summary", "is required"),
        ({"summary": "x", "severity": "apocalyptic"}, "severity", "must be one of"),
        ({"summary": "x", "details": [1, 2]}, "details", "must be an object"),
        ({"summary": 42}, "summary", "must be a string"),
        ({"summary": "x", "action": "explode"}, "action", "must be one of"),
        ({"action": "resolve"}, "dedup_key", "is required"),
        ({"summary": "x", "links": [{"text": "no href"}]}, "links[0].href", "is required"),
        ({"summary": "x" * 1025}, "summary", "at most 1024"),
        ("[1, 2]", "body", "must be a JSON object"),
        ("{not json", "body", "is not valid JSON"),
    ],
)
def test_bad_payload_is_rejected_naming_the_field_and_stores_nothing(
    client, integration, body, field, message
):
    response = post(client, integration, body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert message in response.json()["message"]
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_unknown_integration_key_is_404(client, db):
    response = client.post("/integrations/nope/", "{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json() == {"error": "unknown integration key"}


def test_get_is_not_allowed(client, integration):
    assert client.get(f"/integrations/{integration.key}/").status_code == 405


def test_integration_url_is_built_on_public_url(integration, settings):
    settings.PUBLIC_URL = "https://oncall.example.com"

    assert integration.url == f"https://oncall.example.com/integrations/{integration.key}/"


def test_only_web_links_are_kept(client, integration):
    links = [
        {"href": "https://grafana.example.com/d/x", "text": "Dashboard"},
        {"href": "javascript:alert(1)", "text": "evil"},
    ]
    post(client, integration, {"summary": "x", "links": links})

    assert Incident.objects.get().links == [
        {"href": "https://grafana.example.com/d/x", "text": "Dashboard"}
    ]
