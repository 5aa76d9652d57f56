"""Alertmanager and Grafana webhooks into incidents: groups, upserts by fingerprint, resolution."""

import hashlib
import hmac
import json

import pytest

from paging.models import Alert, Incident
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_ingest_paths")]

ZERO = "0001-01-01T00:00:00Z"


def am_alert(name: str, fingerprint: str, status: str = "firing", **labels) -> dict:
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} on {labels.get('instance', 'db1')}"},
        "startsAt": "2026-11-23T10:00:00.123456789Z",
        "endsAt": ZERO if status == "firing" else "2026-11-23T10:05:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict, group: str = '{}:{alertname="DiskFull"}') -> dict:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "oncall",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
        "someFieldFromTheFuture": {"ignored": True},
    }


@pytest.fixture
def am(payments):
    return IntegrationFactory(service=payments, name="alertmanager", kind="alertmanager")


def post(client, integration, body, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        f"/integrations/{integration.key}/", data, content_type="application/json", headers=headers
    )


def test_group_is_one_incident_whose_alerts_are_upserted_by_fingerprint(client, am):
    a, b = am_alert("DiskFull", "aaa1"), am_alert("DiskFull", "bbb2", instance="db2")
    assert post(client, am, notification(a)).status_code == 202
    assert post(client, am, notification(a, b)).status_code == 202
    assert post(client, am, notification(a, b)).status_code == 202  # a repeat changes nothing

    incident = Incident.objects.get()
    assert incident.alert_count == 2
    assert sorted(incident.alerts.values_list("fingerprint", flat=True)) == ["aaa1", "bbb2"]
    assert incident.alerts.get(fingerprint="aaa1").ends_at is None
    added = [e.message for e in incident.timeline.filter(kind="alert_added")]
    assert added == ["Alert added by alertmanager: DiskFull on db2"]


def test_group_resolves_only_when_every_alert_is_resolved(client, am):
    a, b = am_alert("DiskFull", "aaa1"), am_alert("DiskFull", "bbb2", instance="db2")
    post(client, am, notification(a, b))

    post(client, am, notification(a, am_alert("DiskFull", "bbb2", "resolved", instance="db2")))
    incident = Incident.objects.get()
    assert incident.status == "triggered"
    assert incident.alerts.get(fingerprint="bbb2").status == "resolved"

    resolved = [am_alert("DiskFull", f, "resolved") for f in ("aaa1", "bbb2")]
    post(client, am, notification(*resolved))
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.alerts.count() == 2

    post(client, am, notification(a))  # the group fires again: a new incident
    assert Incident.objects.filter(status="triggered").count() == 1


def test_per_alert_grouping_opens_one_incident_per_fingerprint(client, am):
    am.grouping = "alert"
    am.save()
    a, b = am_alert("DiskFull", "aaa1"), am_alert("DiskFull", "bbb2", instance="db2")

    post(client, am, notification(a, b))
    post(client, am, notification(a, am_alert("DiskFull", "bbb2", "resolved", instance="db2")))

    incidents = {i.dedup_key: i.status for i in Incident.objects.all()}
    assert incidents == {"aaa1": "triggered", "bbb2": "resolved"}


def test_malformed_alertmanager_payload_is_400_naming_the_field(client, am):
    body = notification(am_alert("DiskFull", "aaa1"))
    body["alerts"][0]["startsAt"] = "yesterday"

    response = post(client, am, body)

    assert response.status_code == 400
    assert response.json()["field"] == "alerts[0].startsAt"
    assert not Alert.objects.exists()


def grafana_body() -> dict:
    body = notification(am_alert("HighLatency", "ccc3"))
    body |= {"title": "[FIRING:1] HighLatency", "state": "alerting", "orgId": 1, "message": "m"}
    body["alerts"][0] |= {"dashboardURL": "http://grafana/d/x", "values": {"B": 1.5}}
    return body


def test_grafana_alert_opens_an_incident(client, payments):
    grafana = IntegrationFactory(service=payments, name="grafana", kind="grafana")

    assert post(client, grafana, grafana_body()).status_code == 202
    assert Incident.objects.get().alerts.get().fingerprint == "ccc3"


def test_grafana_signature_is_checked_when_a_secret_is_set(client, payments):
    grafana = IntegrationFactory(
        service=payments, name="grafana", kind="grafana", signing_secret="s3cret"
    )
    raw = json.dumps(grafana_body()).encode()
    good = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()

    missing = post(client, grafana, raw)
    wrong = post(client, grafana, raw, **{"X-Grafana-Alerting-Signature": "00" * 32})
    right = post(client, grafana, raw, **{"X-Grafana-Alerting-Signature": good})

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 202)
    assert Incident.objects.count() == 1
