"""The escalation engine, driven the way workers drive it: escalate, deliver, sweep."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from paging.actions import incident_acknowledge
from paging.delivery import notification_deliver
from paging.engine import incident_escalate, sweep
from paging.ingest import alert_ingest
from paging.integrations import Event
from paging.models import Incident, Notification, NotificationRule
from schedules.models import Layer, LayerMember, Schedule
from tests.factories import (
    ContactMethodFactory,
    IntegrationFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def trigger(service, summary="Disk full on db1") -> Incident:
    integration = IntegrationFactory(service=service)
    event = Event(action="trigger", summary=summary, severity="critical")
    return alert_ingest(integration=integration, event=event, payload={})


def run_due(incident: Incident) -> list[str]:
    """Do what a worker does when the incident's step is due; return the outcomes."""
    return [notification_deliver(pk) for pk in incident_escalate(incident.pk)]


def timeline(incident: Incident) -> list[str]:
    return [e.message for e in incident.timeline.all()]


def test_trigger_pages_level_1_by_sms(twilio, payments, alice):
    incident = trigger(payments)

    assert run_due(incident) == ["sent"]

    (sms,) = twilio.messages
    assert sms.to == "+15550100001"
    assert sms.from_ == "+15559990000"
    assert sms.body == f"#{incident.pk} CRIT payments: Disk full on db1 - reply 1A ack, 1R resolve"
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_id) == ("sent", sms.sid)
    assert "Level 1 paged: Alice Adams" in timeline(incident)
    assert "SMS sent to Alice Adams" in timeline(incident)


def test_no_acknowledgement_pages_level_2_after_the_timeout(twilio, payments):
    incident = trigger(payments)
    run_due(incident)

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=59), tick=False):
        assert run_due(incident) == []
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61), tick=False):
        assert run_due(incident) == ["sent"]

    assert [m.to for m in twilio.messages] == ["+15550100001", "+15550100002"]
    assert "Level 2 paged: Bob Brown" in timeline(incident)


def test_acknowledge_stops_escalation_and_cancels_pending_pages(twilio, payments, alice):
    voice_later = ContactMethodFactory(user=alice, kind="voice", address="+15550100001")
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms)
    NotificationRule.objects.create(
        user=alice, contact_method=voice_later, delay=dt.timedelta(minutes=2)
    )
    incident = trigger(payments)
    run_due(incident)

    incident_acknowledge(incident=incident, by=alice, via="test")

    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        assert run_due(incident) == []
        assert sweep() == {"escalated": 0, "revived": 0, "late": 0, "missed": 0}
    assert len(twilio.messages) == 1
    assert Notification.objects.get(kind="voice").status == "cancelled"
    assert "1 pending notification(s) cancelled" in timeline(incident)[-1]


def test_duplicate_escalate_task_pages_once(twilio, payments):
    incident = trigger(payments)

    run_due(incident)
    run_due(incident)

    assert len(twilio.messages) == 1


def test_tier_with_nobody_reachable_is_skipped_at_once(twilio, bob):
    nobody = UserFactory(username="nocontact")
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[nobody], [bob]]))
    incident = trigger(service)

    run_due(incident)

    assert [m.to for m in twilio.messages] == ["+15550100002"]
    assert timeline(incident)[1:3] == [
        "Level 1 skipped: nobody to page",
        "Level 2 paged: Bob Brown",
    ]


def test_person_reached_through_two_targets_is_paged_once(twilio, alice):
    rota = Schedule.objects.create(name="rota", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=rota, shift_unit="days", handoff_date=dt.date(2026, 1, 1))
    LayerMember.objects.create(layer=layer, user=alice)
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[alice, rota]]))

    run_due(trigger(service))

    assert len(twilio.messages) == 1


def test_schedule_target_pages_whoever_is_on_call(twilio, alice, bob):
    rota = Schedule.objects.create(name="weekly", time_zone="America/New_York")
    layer = Layer.objects.create(
        schedule=rota, shift_unit="weeks", handoff_date=dt.date(2026, 11, 2)
    )
    LayerMember.objects.create(layer=layer, user=alice, position=0)
    LayerMember.objects.create(layer=layer, user=bob, position=1)
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[rota]]))

    # Monday 2026-11-09 10:00 New York is in the second week: Bob's.
    with time_machine.travel(dt.datetime(2026, 11, 9, 15, 0, tzinfo=dt.UTC), tick=False):
        run_due(trigger(service))

    assert [m.to for m in twilio.messages] == ["+15550100002"]


def test_exhausted_policy_says_so_and_incident_stays_triggered(twilio, alice):
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[alice]]))
    incident = trigger(service)
    run_due(incident)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        run_due(incident)

    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert incident.escalation_due_at is None
    assert timeline(incident)[-1] == "Escalation exhausted; nobody acknowledged"


def test_repeat_loops_back_to_level_1(twilio, alice):
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[alice]], repeat=1))
    incident = trigger(service)
    run_due(incident)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        run_due(incident)

    assert len(twilio.messages) == 2
    assert "Level 1 (loop 2) paged: Alice Adams" in timeline(incident)


def test_transient_twilio_failure_is_retried_then_sent(twilio, payments):
    twilio.fail_next(status=503, message="Service Unavailable")
    incident = trigger(payments)

    assert run_due(incident) == ["failed"]
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("pending", 1)

    with time_machine.travel(notification.due_at, tick=False):
        assert notification_deliver(notification.pk) == "sent"
    assert len(twilio.messages) == 1


def test_permanent_twilio_error_fails_at_once(twilio, payments):
    twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    incident = trigger(payments)

    run_due(incident)

    notification = Notification.objects.get()
    assert notification.status == "failed"
    assert "21211" in notification.error
    assert "SMS to Alice Adams failed" in timeline(incident)[-1]


def test_sweeper_escalates_an_incident_whose_task_was_lost(twilio, payments):
    incident = trigger(payments)  # its task went nowhere: no worker here

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=1), tick=False):
        assert sweep()["escalated"] == 1

    assert Notification.objects.filter(incident=incident, tier=0).exists()


def test_sweeper_revives_a_notification_whose_worker_died(twilio, payments):
    incident = trigger(payments)
    incident_escalate(incident.pk)
    Notification.objects.update(status="sending", sent_at=timezone.now())

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        assert sweep()["revived"] == 1
        assert notification_deliver(Notification.objects.get(tier=0).pk) == "sent"
