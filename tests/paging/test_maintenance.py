"""Maintenance windows changed through the API and `oncall apply`; pages scheduled before one.

Each test lives through the time a responder does (the `clock` fixture) and checks what the
fake Twilio received and what the incident's timeline says.
"""

import datetime as dt
import io
import textwrap

import pytest
from django.core.management import call_command
from django.utils import timezone

from paging.actions import incident_acknowledge
from paging.models import MaintenanceWindow, NotificationRule
from tests.factories import ContactMethodFactory, PolicyFactory, ServiceFactory, UserFactory
from tests.paging.test_escalation_engine import ALICE, BOB, clock, sent_to, timeline, trigger, work
from tests.test_config_api import client_for

pytestmark = pytest.mark.django_db

__all__ = ["clock"]  # a fixture, imported for the tests below

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def staff(db):
    return client_for(UserFactory(username="root", is_staff=True, is_superuser=True))


def stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def open_window(staff, service, starts_at: dt.datetime, ends_at: dt.datetime) -> int:
    """Create a maintenance window through the API; return its id."""
    body = {"service": service.pk, "starts_at": starts_at, "ends_at": ends_at, "reason": "upgrade"}
    response = staff.post("/api/v1/maintenance-windows/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def held_incident(staff, payments):
    """Open a one-hour window through the API, then an incident that it holds."""
    now = timezone.now()
    window = open_window(staff, payments, now, now + HOUR)
    incident = trigger(payments)
    assert work() == []
    return window, incident


# 1. Windows changed through the API re-time what they hold, as admin does


def test_window_ended_early_through_the_api_pages_level_1_at_once(twilio, clock, staff, payments):
    window, incident = held_incident(staff, payments)
    clock(600)

    response = staff.patch(
        f"/api/v1/maintenance-windows/{window}/", {"ends_at": timezone.now()}, format="json"
    )
    work()

    assert response.status_code == 200
    assert sent_to(twilio) == [ALICE]
    assert "Level 1 paged: Alice Adams" in timeline(incident)


def test_window_extended_through_the_api_holds_the_incident_longer(twilio, clock, staff, payments):
    start = timezone.now()
    window, _ = held_incident(staff, payments)

    response = staff.patch(
        f"/api/v1/maintenance-windows/{window}/", {"ends_at": start + 2 * HOUR}, format="json"
    )
    clock(3600)
    work()
    assert response.status_code == 200
    assert twilio.messages == []
    clock(7200)
    work()

    assert sent_to(twilio) == [ALICE]


def test_window_deleted_through_the_api_releases_the_incident(twilio, clock, staff, payments):
    window, _ = held_incident(staff, payments)
    clock(60)

    response = staff.delete(f"/api/v1/maintenance-windows/{window}/")
    work()

    assert response.status_code == 204
    assert sent_to(twilio) == [ALICE]
    assert not MaintenanceWindow.objects.exists()


def test_window_removed_by_oncall_apply_releases_the_incident(twilio, clock, tmp_path, payments):
    now = timezone.now()
    payments.maintenance_windows.create(starts_at=now, ends_at=now + HOUR)
    trigger(payments)
    work()
    clock(60)
    path = tmp_path / "oncall.yaml"
    policy = payments.escalation_policy.name
    path.write_text(
        textwrap.dedent(f"""
        services:
          - name: payments
            escalation_policy: {policy}
            maintenance_windows: []
        """)
    )

    call_command("oncall", "apply", str(path), stdout=io.StringIO())
    work()

    assert sent_to(twilio) == [ALICE]


# 2. Pages scheduled before a window opens wait for its end


@pytest.fixture
def sms_then_call(alice):
    """Alice's rules: an SMS at once, a call two minutes later."""
    sms = alice.contact_methods.get(kind="sms")
    voice = ContactMethodFactory(user=alice, kind="voice", address=ALICE, name="phone")
    NotificationRule.objects.create(user=alice, contact_method=sms)
    NotificationRule.objects.create(user=alice, contact_method=voice, delay=dt.timedelta(minutes=2))


def test_call_due_inside_a_window_is_held_until_it_ends(
    twilio, clock, staff, payments, sms_then_call
):
    start = timezone.now()
    incident = trigger(payments)
    assert work() == ["sent"]
    clock(30)
    open_window(staff, payments, timezone.now(), start + HOUR)

    clock(120)
    assert work() == ["held"]
    assert twilio.calls == []
    assert (
        f"Voice call to Alice Adams held: service in maintenance until {stamp(start + HOUR)} UTC"
        in timeline(incident)
    )
    clock(3599)
    assert work() == []
    clock(3600)
    work()

    assert [c.to for c in twilio.calls] == [ALICE]
    assert sent_to(twilio) == [ALICE, BOB]  # Level 2, held from 60 s, too
    assert incident.timeline.filter(kind="maintenance").count() == 1


def test_held_call_goes_out_at_once_when_the_window_is_ended_early(
    twilio, clock, staff, payments, sms_then_call
):
    start = timezone.now()
    trigger(payments)
    work()
    window = open_window(staff, payments, start, start + HOUR)
    clock(120)
    work()
    clock(600)

    url = f"/api/v1/maintenance-windows/{window}/"
    staff.patch(url, {"ends_at": timezone.now()}, format="json")
    work()

    assert [c.to for c in twilio.calls] == [ALICE]


def test_held_call_is_not_placed_once_the_incident_is_acknowledged(
    twilio, clock, staff, payments, sms_then_call, alice
):
    start = timezone.now()
    incident = trigger(payments)
    work()
    open_window(staff, payments, start, start + HOUR)
    clock(120)
    work()
    incident_acknowledge(incident=incident, by=alice, via="SMS")

    clock(3600)
    work()

    assert twilio.calls == []
    assert sent_to(twilio) == [ALICE]


def test_sms_of_a_service_in_maintenance_is_not_bundled_into_another_page(twilio, clock, alice):
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(minutes=2))
    payments = ServiceFactory(name="payments", escalation_policy=PolicyFactory(levels=[[alice]]))
    api = ServiceFactory(name="api", escalation_policy=PolicyFactory(levels=[[alice]]))
    start = timezone.now()
    paid = trigger(payments)
    work()
    clock(1)
    down = trigger(api, "API down")
    work()
    api.maintenance_windows.create(starts_at=start, ends_at=start + HOUR)

    clock(121)
    work()

    (message,) = twilio.messages
    assert message.body.startswith(f"#{paid.pk} CRIT payments: Disk full on db1")
    assert any("held: service in maintenance" in e for e in timeline(down))
