"""Heartbeats: a job pings its URL; silence past interval plus grace opens an incident."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from paging.actions import incident_resolve
from paging.engine import sweep
from paging.models import Incident
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def beat(payments):
    return IntegrationFactory(
        service=payments,
        name="nightly backup",
        kind="heartbeat",
        heartbeat_interval=dt.timedelta(hours=1),
        heartbeat_grace=dt.timedelta(minutes=5),
    )


def later(minutes: int):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


def test_get_and_post_record_a_ping(client, beat):
    assert client.get(f"/integrations/{beat.key}/").json() == {
        "status": "ok",
        "resolved_incident": None,
    }
    first = type(beat).objects.get(pk=beat.pk).last_ping_at
    with later(1):
        assert client.post(f"/integrations/{beat.key}/").status_code == 200
    assert type(beat).objects.get(pk=beat.pk).last_ping_at > first


def test_put_is_405(client, beat):
    response = client.put(f"/integrations/{beat.key}/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


def test_silence_within_interval_and_grace_opens_nothing(client, beat):
    client.get(f"/integrations/{beat.key}/")

    with later(64):
        assert sweep()["missed"] == 0
    assert not Incident.objects.exists()


def test_missed_heartbeat_opens_an_incident_once_and_the_next_ping_resolves_it(client, beat):
    client.get(f"/integrations/{beat.key}/")

    with later(66):
        assert sweep()["missed"] == 1
        assert sweep()["missed"] == 0  # still silent: the same incident stays open
    incident = Incident.objects.get()
    assert incident.summary.startswith("No heartbeat from nightly backup since ")
    assert incident.status == "triggered"
    assert incident.escalation_due_at is not None  # it pages like any other incident

    with later(70):
        response = client.get(f"/integrations/{beat.key}/")
    assert response.json()["resolved_incident"] == incident.pk
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert "heartbeat nightly backup" in incident.timeline.last().message


def test_never_pinged_heartbeat_counts_from_its_creation(beat):
    with later(66):
        assert sweep()["missed"] == 1


def test_incident_resolved_by_hand_stays_resolved_until_the_next_silence(client, beat):
    with later(66):
        sweep()
    incident_resolve(incident=Incident.objects.get(), by=None, via="test")

    with later(80):
        assert sweep()["missed"] == 0
        client.get(f"/integrations/{beat.key}/")
    with later(80 + 66):
        assert sweep()["missed"] == 1
    assert Incident.objects.count() == 2


def test_disabled_heartbeat_opens_nothing_and_refuses_pings(client, beat):
    beat.enabled = False
    beat.save()

    with later(600):
        assert sweep()["missed"] == 0
    assert client.get(f"/integrations/{beat.key}/").status_code == 403


def test_heartbeat_needs_an_interval(payments):
    beat = IntegrationFactory.build(service=payments, kind="heartbeat", heartbeat_interval=None)
    with pytest.raises(ValidationError, match="needs an interval"):
        beat.full_clean()
