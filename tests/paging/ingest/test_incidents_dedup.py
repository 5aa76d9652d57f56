"""Dedup and noise control: repeats join the open incident, alert storms fold into one."""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone

from paging.models import Incident
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_ingest_paths")]


@pytest.fixture
def integration(payments):
    return IntegrationFactory(service=payments, name="cron jobs")


def post(client, integration, body):
    return client.post(
        f"/integrations/{integration.key}/", json.dumps(body), content_type="application/json"
    )


def test_repeat_trigger_adds_an_alert_to_the_timeline_and_pages_nobody_new(client, integration):
    post(client, integration, {"summary": "Disk full", "dedup_key": "db1"})
    post(client, integration, {"summary": "Disk still full", "dedup_key": "db1"})

    incident = Incident.objects.get()
    kinds = [(e.kind, e.message) for e in incident.timeline.all()]
    assert kinds == [
        ("triggered", "Triggered by cron jobs"),
        ("alert_added", "Alert added by cron jobs: Disk still full"),
    ]
    assert incident.alert_count == 2
    assert incident.last_alert_at is not None


def test_urgency_follows_severity_unless_the_service_sets_it(client, integration):
    post(client, integration, {"summary": "a", "severity": "error"})
    post(client, integration, {"summary": "b", "severity": "warning"})
    integration.service.urgency = "low"
    integration.service.save()
    post(client, integration, {"summary": "c", "severity": "critical"})

    assert list(Incident.objects.order_by("pk").values_list("urgency", flat=True)) == [
        "high",
        "low",
        "low",
    ]


def test_alert_storm_folds_new_alerts_into_one_incident(client, integration):
    service = integration.service
    service.storm_cap, service.storm_window = 3, dt.timedelta(minutes=5)
    service.save()

    for n in range(50):
        assert post(client, integration, {"summary": f"host {n} down"}).status_code == 202

    incidents = Incident.objects.order_by("pk")
    assert incidents.count() == 4  # three before the cap, then the storm incident
    storm = incidents.last()
    assert storm.dedup_key == "alert-storm"
    assert storm.summary.startswith("Alert storm on payments")
    assert storm.alert_count == 47  # every alert is still recorded
    assert storm.alerts.count() == 47


def test_storm_window_passing_lets_new_alerts_open_incidents_again(client, integration):
    service = integration.service
    service.storm_cap, service.storm_window = 2, dt.timedelta(minutes=5)
    service.save()
    for n in range(3):
        post(client, integration, {"summary": f"host {n} down"})

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        post(client, integration, {"summary": "a fresh problem", "dedup_key": "fresh"})

    assert Incident.objects.get(dedup_key="fresh").summary == "a fresh problem"


def test_storm_cap_zero_never_folds(client, integration):
    integration.service.storm_cap = 0
    integration.service.save()

    for n in range(30):
        post(client, integration, {"summary": f"host {n} down"})

    assert Incident.objects.count() == 30
    assert not Incident.objects.filter(dedup_key="alert-storm").exists()


def test_a_flood_of_repeats_writes_one_alert_added_entry_a_minute(client, integration):
    for n in range(5):
        post(client, integration, {"summary": f"Disk full ({n})", "dedup_key": "db1"})
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        post(client, integration, {"summary": "Disk full (later)", "dedup_key": "db1"})

    incident = Incident.objects.get()
    added = [e.message for e in incident.timeline.filter(kind="alert_added")]
    assert added == [
        "Alert added by cron jobs: Disk full (1)",
        "Alert added by cron jobs: Disk full (later)",
    ]
    assert incident.alert_count == 6
