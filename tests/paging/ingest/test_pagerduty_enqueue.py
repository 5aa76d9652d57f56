"""`POST /v2/enqueue`: PagerDuty Events API v2 clients work by changing only the base URL."""

import importlib
import io
import json
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import ApiToken
from paging.models import Incident
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_ingest_paths")]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pagerduty_v2"


@pytest.fixture
def integration(payments):
    return IntegrationFactory(service=payments, name="events", kind="pagerduty_v2")


def enqueue(client, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/v2/enqueue", data, content_type="application/json", **extra)


def event(integration, action="trigger", **fields):
    body = {"routing_key": integration.key, "event_action": action, **fields}
    if action == "trigger":
        body.setdefault(
            "payload", {"summary": "Disk full on db1", "source": "db1", "severity": "critical"}
        )
    return body


def test_trigger_answers_like_pagerduty_and_opens_an_incident(client, integration):
    response = enqueue(client, event(integration, dedup_key="db1-disk"))

    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "db1-disk",
    }
    incident = Incident.objects.get()
    assert (incident.summary, incident.severity, incident.dedup_key) == (
        "Disk full on db1",
        "critical",
        "db1-disk",
    )


def test_stored_alert_does_not_reveal_the_routing_key_to_responders(client, integration, alice):
    enqueue(client, event(integration, dedup_key="db1-disk"))
    enqueue(client, event(integration, "resolve", dedup_key="db1-disk"))
    incident = Incident.objects.get()
    _, token = ApiToken.issue(user=alice, name="phone")

    response = client.get(f"/api/v1/incidents/{incident.pk}/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert integration.key not in response.content.decode()
    assert [a["payload"]["event_action"] for a in response.json()["alerts"]] == [
        "resolve",
        "trigger",
    ]


def test_upgrade_drops_routing_keys_already_stored(client, integration):
    from django.apps import apps

    migration = importlib.import_module("paging.migrations.0008_scrub_pagerduty_routing_keys")
    enqueue(client, event(integration, dedup_key="db1-disk"))
    alert = Incident.objects.get().alerts.get()
    alert.payload["routing_key"] = integration.key  # as stored before the key was dropped
    alert.save()

    migration.scrub(apps, schema_editor=None)

    alert.refresh_from_db()
    assert "routing_key" not in alert.payload
    assert alert.payload["dedup_key"] == "db1-disk"


def test_trigger_without_dedup_key_gets_one_that_resolves_it(client, integration):
    key = enqueue(client, event(integration)).json()["dedup_key"]

    assert key
    enqueue(client, event(integration, "resolve", dedup_key=key))
    assert Incident.objects.get().status == "resolved"


def test_acknowledge_and_resolve_act_on_the_open_incident(client, integration):
    enqueue(client, event(integration, dedup_key="k"))

    assert enqueue(client, event(integration, "acknowledge", dedup_key="k")).status_code == 202
    assert Incident.objects.get().status == "acknowledged"
    assert enqueue(client, event(integration, "resolve", dedup_key="k")).status_code == 202
    assert Incident.objects.get().status == "resolved"


def test_resolve_for_an_unknown_key_is_accepted_and_does_nothing(client, integration):
    response = enqueue(client, event(integration, "resolve", dedup_key="never-seen"))

    assert response.status_code == 202
    assert not Incident.objects.exists()


def test_invalid_event_lists_every_problem_and_stores_nothing(client, integration):
    body = event(integration, payload={"summary": "", "severity": "apocalyptic"})

    response = enqueue(client, body)

    assert response.status_code == 400
    answer = response.json()
    assert (answer["status"], answer["message"]) == ("invalid event", "Event object is invalid")
    problems = " ".join(answer["errors"])
    assert "summary" in problems and "severity" in problems and "source" in problems
    assert not Incident.objects.exists()


def test_invalid_json_is_400_in_pagerduty_shape(client, integration):
    response = enqueue(client, "{not json")

    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"


def test_unknown_routing_key_is_404_and_other_kinds_keys_are_not_routing_keys(client, payments):
    generic = IntegrationFactory(service=payments, kind="generic")
    for key in ("x" * 32, generic.key):
        body = {"routing_key": key, "event_action": "trigger"}
        body["payload"] = {"summary": "s", "source": "s", "severity": "info"}
        response = enqueue(client, body)
        assert response.status_code == 404
        assert response.json()["status"] == "invalid event"
    assert not Incident.objects.exists()


def test_disabled_integration_is_403_with_reason(client, integration):
    integration.enabled, integration.disabled_reason = False, "team moved"
    integration.save()

    response = enqueue(client, event(integration, dedup_key="k"))

    assert response.status_code == 403
    assert response.json()["errors"] == ["routing_key: team moved"]


def test_get_is_405(client, db):
    assert client.get("/v2/enqueue").status_code == 405


# Keys `oncall apply` accepts (16 to 64 of letters, digits and ._~-), not only PagerDuty's 32.
CONFIG_KEYS = ["pd-payments-16ch", "a" * 31, "b.c~d_e-" * 4 + "f", "Z9" * 32]


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: f"{len(key)} characters")
def test_every_routing_key_the_configuration_accepts_is_routed(client, tmp_path, key):
    config = tmp_path / "oncall.yaml"
    config.write_text(
        textwrap.dedent(f"""
            services:
              - name: payments
                integrations:
                  - {{name: events, kind: pagerduty_v2, key: "{key}"}}
        """)
    )
    call_command("oncall", "apply", str(config), stdout=io.StringIO())
    body = {"routing_key": key, "event_action": "trigger", "dedup_key": "db1-disk"}
    body["payload"] = {"summary": "Disk full", "source": "db1", "severity": "critical"}

    response = enqueue(client, body)

    assert response.status_code == 202, response.json()
    assert Incident.objects.get().service.name == "payments"


@pytest.mark.parametrize("length", [15, 65])
def test_routing_key_no_integration_can_have_is_400_saying_the_lengths(client, length):
    body = {"routing_key": "k" * length, "event_action": "trigger"}
    body["payload"] = {"summary": "Disk full", "source": "db1", "severity": "critical"}

    response = enqueue(client, body)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Length of 'routing_key' is incorrect (should be 16 to 64 characters)"
    ]
    assert not Incident.objects.exists()


def test_alertmanagers_pagerduty_receiver_is_understood(client, integration):
    trigger = json.loads((FIXTURES / "alertmanager_receiver_trigger.json").read_text())
    trigger["routing_key"] = integration.key

    response = enqueue(client, trigger)

    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.dedup_key == trigger["dedup_key"]
    resolve = json.loads((FIXTURES / "alertmanager_receiver_resolve.json").read_text())
    resolve["routing_key"], resolve["dedup_key"] = integration.key, trigger["dedup_key"]
    assert enqueue(client, resolve).status_code == 202
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_integration_url_is_the_enqueue_endpoint(integration, settings):
    settings.PUBLIC_URL = "https://oncall.example.com"

    assert integration.url == "https://oncall.example.com/v2/enqueue"
