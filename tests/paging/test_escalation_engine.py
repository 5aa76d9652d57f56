"""The escalation engine, driven the way workers drive it: escalate, deliver, sweep.

Each test follows one semantic of the escalation issue, through the time a responder lives it:
what the fake Twilio received, and what the incident's timeline says.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from paging.actions import incident_acknowledge, incident_escalate_now, incident_resolve
from paging.engine import incident_escalate, maintenance_changed, sweep
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident, IncidentStatus, Notification, NotificationRule
from paging.notify.delivery import notification_deliver
from schedules.models import Layer, LayerMember, Schedule
from tests.factories import (
    ContactMethodFactory,
    IntegrationFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ALICE, BOB, CAROL = "+15550100001", "+15550100002", "+15550100003"


def trigger(service, summary="Disk full on db1", dedup_key="") -> Incident:
    integration = IntegrationFactory(service=service)
    event = Event(action="trigger", summary=summary, severity="critical", dedup_key=dedup_key)
    return alert_ingest(integration=integration, event=event, payload={})


def run_due(incident: Incident) -> list[str]:
    """Do what a worker does when the incident's step is due; return the outcomes."""
    return [notification_deliver(pk) for pk in incident_escalate(incident.pk)]


def work() -> list[str]:
    """Do everything a worker would have done by now: due steps, then due notifications."""
    now = timezone.now()
    due = Incident.objects.filter(status="triggered", escalation_due_at__lte=now)
    for pk in due.values_list("pk", flat=True):
        incident_escalate(pk)
    pending = Notification.objects.filter(status="pending", due_at__lte=timezone.now())
    return [
        notification_deliver(pk) for pk in pending.order_by("due_at").values_list("pk", flat=True)
    ]


def timeline(incident: Incident) -> list[str]:
    return [e.message for e in incident.timeline.all()]


def sent_to(twilio) -> list[str]:
    return [m.to for m in twilio.messages]


@pytest.fixture
def clock():
    """Travel to `start + seconds` (time stands still there) with `clock(seconds)`."""
    start = timezone.now()
    traveller = None

    def at(seconds: float) -> None:
        nonlocal traveller
        if traveller is not None:
            traveller.stop()
        traveller = time_machine.travel(start + dt.timedelta(seconds=seconds), tick=False)
        traveller.start()

    at(0)
    yield at
    traveller.stop()


@pytest.fixture
def carol(db):
    user = UserFactory(username="carol", first_name="Carol", last_name="Cole")
    ContactMethodFactory(user=user, address=CAROL)
    return user


# 1. Trigger


def test_trigger_pages_level_1_by_sms(twilio, payments, alice):
    incident = trigger(payments)

    assert run_due(incident) == ["sent"]

    (sms,) = twilio.messages
    assert sms.to == ALICE
    assert sms.from_ == "+15559990000"
    assert sms.body == f"#{incident.pk} CRIT payments: Disk full on db1 - reply 1A ack, 1R resolve"
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_id) == ("sent", sms.sid)
    assert "Level 1 paged: Alice Adams" in timeline(incident)
    assert "SMS sent to Alice Adams" in timeline(incident)


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

    assert sent_to(twilio) == [BOB]


# 2. Notification rules


def test_each_persons_rules_run_from_when_they_were_paged(twilio, clock, payments, alice):
    desk = ContactMethodFactory(user=alice, name="desk", address="+15550100011")
    NotificationRule.objects.create(user=alice, contact_method=alice.contact_methods.first())
    NotificationRule.objects.create(user=alice, contact_method=desk, delay=dt.timedelta(seconds=30))
    trigger(payments)

    assert work() == ["sent"]
    clock(29)
    assert work() == []
    clock(30)
    assert work() == ["sent"]

    assert sent_to(twilio) == [ALICE, "+15550100011"]


def test_person_without_rules_gets_the_site_default_rules(twilio, clock, payments, settings):
    settings.PAGING_DEFAULT_RULES = (("sms", dt.timedelta(0)), ("sms", dt.timedelta(seconds=20)))
    incident = trigger(payments)

    work()
    clock(20)
    work()

    assert sent_to(twilio) == [ALICE, ALICE]
    assert timeline(incident).count("SMS sent to Alice Adams") == 2


def test_default_rules_use_only_the_kinds_they_name(twilio, payments, alice, settings):
    ContactMethodFactory(user=alice, kind="email", address="alice@example.com")
    settings.PAGING_DEFAULT_RULES = (("sms", dt.timedelta(0)),)
    incident = trigger(payments)

    work()

    assert [n.kind for n in incident.notifications.all()] == ["sms"]


def test_person_reached_through_two_targets_is_paged_once(twilio, alice):
    rota = Schedule.objects.create(name="rota", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=rota, shift_unit="days", handoff_date=dt.date(2026, 1, 1))
    LayerMember.objects.create(layer=layer, user=alice)
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[alice, rota, alice]]))

    run_due(trigger(service))

    assert len(twilio.messages) == 1


# 3. No acknowledgement: the next level


def test_no_acknowledgement_pages_level_2_after_the_timeout(twilio, clock, payments):
    incident = trigger(payments)
    work()

    clock(59)
    assert work() == []
    clock(60)
    assert work() == ["sent"]

    assert sent_to(twilio) == [ALICE, BOB]
    assert "Level 2 paged: Bob Brown" in timeline(incident)


def test_people_already_paged_keep_their_rules_running(twilio, clock, payments, alice):
    desk = ContactMethodFactory(user=alice, name="desk", address="+15550100011")
    NotificationRule.objects.create(user=alice, contact_method=alice.contact_methods.first())
    NotificationRule.objects.create(user=alice, contact_method=desk, delay=dt.timedelta(seconds=90))
    trigger(payments)

    work()
    clock(60)  # Level 2
    work()
    clock(90)  # Alice's second rule, though Bob has been paged since
    work()

    assert sent_to(twilio) == [ALICE, BOB, "+15550100011"]


# 4. Levels with nobody to page


def test_level_with_nobody_reachable_is_skipped_at_once_saying_why(twilio, bob):
    nobody = UserFactory(username="nocontact", first_name="Nora", last_name="Nocontact")
    empty = Schedule.objects.create(name="Empty rota", time_zone="UTC")
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[nobody, empty], [bob]]))
    incident = trigger(service)

    run_due(incident)

    assert sent_to(twilio) == [BOB]
    assert timeline(incident)[1:3] == [
        "Level 1 skipped: nobody on call in Empty rota; Nora Nocontact has no contact methods",
        "Level 2 paged: Bob Brown",
    ]
    incident.refresh_from_db()
    assert incident.escalation_due_at == incident.notifications.get().due_at + dt.timedelta(
        minutes=1
    )


def deactivate(person) -> None:
    person.is_active = False
    person.save(update_fields=["is_active"])


def test_level_whose_only_person_is_deactivated_is_skipped_at_once_saying_why(
    twilio, payments, alice
):
    deactivate(alice)
    incident = trigger(payments)

    run_due(incident)

    assert sent_to(twilio) == [BOB]
    assert timeline(incident)[1:3] == [
        "Level 1 skipped: Alice Adams is deactivated",
        "Level 2 paged: Bob Brown",
    ]


def test_deactivated_person_on_call_is_not_paged_but_the_rest_of_the_level_is(
    twilio, alice, bob, carol
):
    rota = Schedule.objects.create(name="rota", time_zone="UTC")
    layer = Layer.objects.create(schedule=rota, shift_unit="days", handoff_date=dt.date(2026, 1, 1))
    LayerMember.objects.create(layer=layer, user=carol)
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[alice, rota], [bob]]))
    deactivate(carol)
    incident = trigger(service)

    run_due(incident)

    assert sent_to(twilio) == [ALICE]
    assert "Level 1 paged: Alice Adams (Carol Cole is deactivated)" in timeline(incident)


def test_level_without_targets_is_skipped(twilio, bob):
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[], [bob]]))
    incident = trigger(service)

    run_due(incident)

    assert sent_to(twilio) == [BOB]
    assert "Level 1 skipped: the level has no targets" in timeline(incident)


# 5. After the last level: loop, then exhausted


def test_repeat_loops_back_to_level_1_then_exhausts(twilio, clock, alice, bob):
    policy = PolicyFactory(levels=[[alice], [bob]], repeat=1)
    incident = trigger(ServiceFactory(escalation_policy=policy))

    for seconds in (0, 60, 120, 180, 240):
        clock(seconds)
        work()

    assert sent_to(twilio) == [ALICE, BOB, ALICE, BOB]
    steps = [m for m in timeline(incident) if not m.startswith(("SMS", "Triggered"))]
    assert steps == [
        "Level 1 paged: Alice Adams",
        "Level 2 paged: Bob Brown",
        "Nobody acknowledged: back to Level 1 (loop 2)",
        "Level 1 (loop 2) paged: Alice Adams",
        "Level 2 (loop 2) paged: Bob Brown",
        "Escalation exhausted; nobody acknowledged",
    ]
    incident.refresh_from_db()
    assert (incident.status, incident.escalation_due_at) == ("triggered", None)


# 6. Acknowledge and resolve stop everything


def test_acknowledge_stops_escalation_and_cancels_pending_pages(twilio, clock, payments, alice):
    voice_later = ContactMethodFactory(user=alice, kind="voice", address=ALICE)
    NotificationRule.objects.create(
        user=alice, contact_method=alice.contact_methods.get(kind="sms")
    )
    NotificationRule.objects.create(
        user=alice, contact_method=voice_later, delay=dt.timedelta(minutes=2)
    )
    incident = trigger(payments)
    work()

    incident_acknowledge(incident=incident, by=alice, via="test")

    clock(3600)
    assert work() == []
    assert sweep()["escalated"] == 0
    assert sent_to(twilio) == [ALICE]
    assert Notification.objects.get(kind="voice").status == "cancelled"
    assert "1 pending notification(s) cancelled" in timeline(incident)[-1]


def test_resolve_stops_escalation_and_cancels_pending_pages(twilio, clock, payments, alice):
    NotificationRule.objects.create(user=alice, contact_method=alice.contact_methods.get())
    NotificationRule.objects.create(
        user=alice, contact_method=alice.contact_methods.get(), delay=dt.timedelta(seconds=30)
    )
    incident = trigger(payments)
    work()

    incident_resolve(incident=incident, by=None, via="API")

    clock(3600)
    assert work() == []
    sweep()
    assert sent_to(twilio) == [ALICE]
    assert sorted(n.status for n in incident.notifications.all()) == ["cancelled", "sent"]


# 7. Acknowledgement expiry


def test_expired_acknowledgement_triggers_again_and_restarts_at_level_1(
    twilio, clock, payments, alice, bob
):
    payments.ack_timeout = dt.timedelta(minutes=30)
    payments.save()
    incident = trigger(payments)
    work()
    clock(60)
    work()  # Level 2: Bob
    incident_acknowledge(incident=incident, by=bob, via="SMS")

    clock(60 + 29 * 60)
    assert sweep()["ack_expired"] == 0
    clock(60 + 30 * 60)
    assert sweep()["ack_expired"] == 1
    work()

    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert sent_to(twilio) == [ALICE, BOB, ALICE]
    assert timeline(incident)[-3:] == [
        "Acknowledgement expired after 0:30:00: triggered again, escalation restarts at Level 1",
        "Level 1 paged: Alice Adams",
        "SMS sent to Alice Adams",
    ]
    clock(60 + 31 * 60)
    work()
    assert sent_to(twilio) == [ALICE, BOB, ALICE, BOB]


def test_acknowledgement_without_service_timeout_never_expires(twilio, clock, payments, alice):
    incident = trigger(payments)
    work()
    incident_acknowledge(incident=incident, by=alice, via="SMS")

    clock(30 * 24 * 3600)
    sweep()

    incident.refresh_from_db()
    assert incident.status == "acknowledged"


# 8. Manual escalation


def test_escalate_now_pages_the_next_level_at_once(twilio, payments):
    incident = trigger(payments)
    work()

    assert incident_escalate_now(incident=incident, by=None, via="API")
    work()

    assert sent_to(twilio) == [ALICE, BOB]
    assert "Escalated by API" in timeline(incident)


def test_escalate_now_retriggers_an_acknowledged_incident(twilio, payments, alice):
    incident = trigger(payments)
    work()
    incident_acknowledge(incident=incident, by=alice, via="SMS")

    incident_escalate_now(incident=incident, by=alice, via="SMS")
    work()

    assert incident.status == "triggered"
    assert sent_to(twilio) == [ALICE, BOB]
    assert "Escalated by Alice Adams via SMS (re-triggered from acknowledged)" in timeline(incident)


def test_escalate_now_after_the_last_level_starts_again_at_level_1(twilio, clock, payments):
    incident = trigger(payments)
    for seconds in (0, 60, 120):
        clock(seconds)
        work()  # Alice, Bob, exhausted

    incident_escalate_now(incident=incident, by=None, via="API")
    work()

    assert sent_to(twilio) == [ALICE, BOB, ALICE]


def test_escalate_now_on_a_resolved_incident_changes_nothing(twilio, payments):
    incident = trigger(payments)
    incident_resolve(incident=incident, by=None, via="API")

    assert not incident_escalate_now(incident=incident, by=None, via="API")
    assert work() == []


# 9. Auto-resolve


def test_incident_without_new_alerts_auto_resolves(twilio, clock, payments):
    payments.auto_resolve_after = dt.timedelta(minutes=10)
    payments.save()
    incident = trigger(payments, dedup_key="db1")
    clock(5 * 60)
    assert trigger(payments, dedup_key="db1") == incident  # a repeat: the quiet spell restarts

    clock(14 * 60)
    assert sweep()["auto_resolved"] == 0
    clock(15 * 60)
    assert sweep()["auto_resolved"] == 1

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert timeline(incident)[-1] == "Resolved by auto-resolve (no new alert for 0:10:00)"


def test_service_without_auto_resolve_keeps_incidents_open(twilio, clock, payments):
    incident = trigger(payments)

    clock(365 * 24 * 3600)
    sweep()

    assert Incident.objects.get(pk=incident.pk).status == "triggered"


# 10. Maintenance windows


def test_maintenance_records_the_incident_and_pages_when_the_window_ends(twilio, clock, payments):
    now = timezone.now()
    payments.maintenance_windows.create(starts_at=now, ends_at=now + dt.timedelta(hours=1))
    incident = trigger(payments)

    assert work() == []
    end = (now + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert timeline(incident)[-1] == (
        f"Service in maintenance until {end} UTC: nobody paged; escalation goes on then"
    )
    clock(3599)
    assert sweep()["escalated"] == 0
    clock(3600)
    work()

    assert sent_to(twilio) == [ALICE]
    assert timeline(incident)[-2] == "Level 1 paged: Alice Adams"


def test_window_ended_early_lets_held_incidents_escalate_at_once(twilio, clock, payments):
    now = timezone.now()
    window = payments.maintenance_windows.create(starts_at=now, ends_at=now + dt.timedelta(hours=1))
    trigger(payments)
    work()
    clock(600)

    window.ends_at = timezone.now()
    window.save()
    assert maintenance_changed(service_id=payments.pk) == 1
    work()

    assert sent_to(twilio) == [ALICE]


def test_window_made_longer_holds_incidents_on(twilio, clock, payments):
    now = timezone.now()
    window = payments.maintenance_windows.create(starts_at=now, ends_at=now + dt.timedelta(hours=1))
    trigger(payments)
    work()

    window.ends_at = now + dt.timedelta(hours=2)
    window.save()
    maintenance_changed(service_id=payments.pk)
    clock(3600)
    work()
    assert twilio.messages == []
    clock(7200)
    work()
    assert sent_to(twilio) == [ALICE]


def test_incident_resolved_during_maintenance_pages_nobody(twilio, clock, payments):
    now = timezone.now()
    payments.maintenance_windows.create(starts_at=now, ends_at=now + dt.timedelta(hours=1))
    incident = trigger(payments)
    work()
    incident_resolve(incident=incident, by=None, via="API")

    clock(2 * 3600)
    work()
    sweep()

    assert twilio.messages == []


def test_back_to_back_windows_hold_until_the_last_one_ends(twilio, clock, payments):
    now = timezone.now()
    hour = dt.timedelta(hours=1)
    payments.maintenance_windows.create(starts_at=now - hour, ends_at=now + hour)
    payments.maintenance_windows.create(starts_at=now + hour, ends_at=now + 2 * hour)
    payments.maintenance_windows.create(starts_at=now + 5 * hour, ends_at=now + 6 * hour)
    trigger(payments)

    work()
    clock(2 * 3600 - 1)
    work()
    assert twilio.messages == []
    clock(2 * 3600)
    work()
    assert sent_to(twilio) == [ALICE]


def test_window_in_the_future_does_not_hold(twilio, payments):
    now = timezone.now()
    payments.maintenance_windows.create(
        starts_at=now + dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=2)
    )
    trigger(payments)

    work()

    assert sent_to(twilio) == [ALICE]


# 11. Edits while an incident escalates


def test_policy_edit_applies_from_the_next_level_and_repeats_nothing(
    twilio, clock, payments, alice, carol
):
    incident = trigger(payments)
    work()
    level_1, level_2 = payments.escalation_policy.tiers.all()

    level_1.users.add(carol)  # too late for Level 1: it was paged already
    level_2.users.set([carol])  # Bob is replaced before Level 2 fires
    clock(60)
    work()

    assert sent_to(twilio) == [ALICE, CAROL]
    assert "Level 2 paged: Carol Cole" in timeline(incident)


def test_new_timeout_applies_from_the_next_level(twilio, clock, payments, alice, carol):
    trigger(payments)
    work()
    level_1, level_2 = payments.escalation_policy.tiers.all()
    level_1.ack_timeout = level_2.ack_timeout = dt.timedelta(minutes=10)
    level_1.save()
    level_2.save()
    payments.escalation_policy.tiers.create(position=2, ack_timeout=dt.timedelta(minutes=1))
    payments.escalation_policy.tiers.get(position=2).users.add(carol)

    clock(60)  # Level 2 keeps the due time set when Level 1 was paged
    work()
    clock(60 + 9 * 60)
    work()
    assert sent_to(twilio) == [ALICE, BOB]
    clock(60 + 10 * 60)  # ... and its new timeout counts from then
    work()
    assert sent_to(twilio) == [ALICE, BOB, CAROL]


def test_schedule_edit_applies_from_the_next_level(twilio, clock, alice, bob, carol):
    rota = Schedule.objects.create(name="rota", time_zone="UTC")
    layer = Layer.objects.create(schedule=rota, shift_unit="days", handoff_date=dt.date(2026, 1, 1))
    LayerMember.objects.create(layer=layer, user=bob)
    incident = trigger(ServiceFactory(escalation_policy=PolicyFactory(levels=[[alice], [rota]])))
    work()

    layer.members.update(user=carol)
    clock(60)
    work()

    assert sent_to(twilio) == [ALICE, CAROL]
    assert incident.notifications.count() == 2


def test_shrunk_policy_ends_the_escalation_instead_of_failing(twilio, clock, payments):
    incident = trigger(payments)
    work()
    clock(60)
    work()  # Level 2 paged
    payments.escalation_policy.tiers.filter(position=1).delete()

    clock(120)
    work()

    assert timeline(incident)[-1] == "Escalation exhausted; nobody acknowledged"


# Durability: duplicates, retries, lost tasks, dead workers


def test_duplicate_escalate_task_pages_once(twilio, payments):
    incident = trigger(payments)

    run_due(incident)
    run_due(incident)

    assert len(twilio.messages) == 1


def test_escalation_task_sends_the_pages_due_at_once_itself(twilio, payments, alice):
    desk = ContactMethodFactory(user=alice, name="desk", address="+15550100011")
    NotificationRule.objects.create(user=alice, contact_method=alice.contact_methods.first())
    NotificationRule.objects.create(user=alice, contact_method=desk, delay=dt.timedelta(minutes=1))
    incident = trigger(payments)

    incident_escalate(incident.pk, send_now=3)

    assert sent_to(twilio) == [ALICE]  # the delayed one waits for its time
    assert sorted(n.status for n in incident.notifications.all()) == ["pending", "sent"]


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


def test_sweeper_escalates_an_incident_whose_task_was_lost(twilio, clock, payments):
    incident = trigger(payments)  # its task went nowhere: no worker here

    clock(1)
    assert sweep()["escalated"] == 1

    assert Notification.objects.filter(incident=incident, tier=0).exists()


def test_sweeper_revives_a_dead_workers_page_once_twilio_could_no_longer_answer(
    twilio, clock, payments, settings
):
    settings.TWILIO_TIMEOUT_SECONDS = 5
    incident = trigger(payments)
    incident_escalate(incident.pk)
    Notification.objects.update(status="sending", sent_at=timezone.now())

    clock(5)
    assert sweep()["revived"] == 0  # a live worker may still be waiting for Twilio's answer
    clock(10)
    assert sweep()["revived"] == 1  # and sent again

    assert sent_to(twilio).count(ALICE) == 1
    assert Notification.objects.get(tier=0).status == "sent"


def test_policy_without_levels_says_so(twilio):
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[]))
    incident = trigger(service)

    run_due(incident)

    assert timeline(incident)[-1] == "Policy has no levels to page"
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.TRIGGERED
