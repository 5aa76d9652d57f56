"""Carrier-safe limits per number, and several pages at one moment sent as one SMS."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from paging.actions import incident_acknowledge, incident_resolve
from paging.engine import incident_escalate
from paging.models import Incident, Notification
from paging.notify.delivery import notification_deliver
from tests.factories import ServiceFactory
from tests.paging.notify.conftest import ALICE_PHONE, page, sms_reply
from tests.paging.notify.test_delivery import retry_until_done
from tests.paging.test_escalation_engine import timeline, trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_only(alice):
    return ServiceFactory(name="payments", escalation_policy__levels=[[alice]])


def escalate_all(incidents: list[Incident]) -> list[int]:
    """Write every incident's Level 1 notifications (the moment before workers send them)."""
    return [pk for incident in incidents for pk in incident_escalate(incident.pk)]


def test_pages_due_together_go_out_as_one_bundled_sms(webhooks, alice_only):
    incidents = [trigger(alice_only, s) for s in ("Disk full", "API down", "Queue stuck")]

    outcomes = [notification_deliver(pk) for pk in escalate_all(incidents)]

    assert outcomes == ["sent", "skipped", "skipped"]
    (sms,) = webhooks.messages
    first, second, third = (i.pk for i in incidents)
    assert sms.body == (
        f"3 incidents: #{first} payments: Disk full (1A); #{second} payments: API down (2A); "
        f"#{third} payments: Queue stuck (3A) - reply 100A to ack all"
    )
    assert len(sms.body) <= 160
    assert {n.provider_id for n in Notification.objects.all()} == {sms.sid}
    for incident in incidents:
        assert "SMS sent to Alice Adams (one SMS for 3 incidents)" in timeline(incident)


def test_100a_acknowledges_the_whole_bundle(webhooks, alice_only, alice):
    incidents = [trigger(alice_only, f"problem {n}") for n in range(3)]
    for pk in escalate_all(incidents):
        notification_deliver(pk)

    _, answer = sms_reply(webhooks, "100a")

    numbers = ", ".join(f"#{i.pk}" for i in incidents)
    assert f"Acknowledged 3 incidents: {numbers}" in answer
    for incident in incidents:
        incident.refresh_from_db()
        assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)


def test_single_codes_still_work_after_a_bundle(webhooks, alice_only):
    incidents = [trigger(alice_only, f"problem {n}") for n in range(2)]
    for pk in escalate_all(incidents):
        notification_deliver(pk)

    sms_reply(webhooks, "2r")

    assert [Incident.objects.get(pk=i.pk).status for i in incidents] == ["triggered", "resolved"]


def bundle_of_two(service, *summaries: str) -> list[Incident]:
    """Page two incidents due together (one bundled SMS); return them."""
    incidents = [trigger(service, summary) for summary in summaries]
    for pk in escalate_all(incidents):
        notification_deliver(pk)
    return incidents


def test_bundle_code_is_given_again_only_after_the_quarantine(webhooks, alice_only, settings):
    settings.PAGING_REPLY_CODE_QUARANTINE = dt.timedelta(hours=24)
    for incident in bundle_of_two(alice_only, "one", "two"):
        incident_resolve(incident=incident, by=None, via="test")
    closed = timezone.now()

    with time_machine.travel(closed + dt.timedelta(hours=23, minutes=59), tick=False):
        bundle_of_two(alice_only, "three", "four")
    with time_machine.travel(closed + dt.timedelta(hours=24, seconds=1), tick=False):
        bundle_of_two(alice_only, "five", "six")

    assert [m.body.rsplit("reply ", 1)[1] for m in webhooks.messages] == [
        "100A to ack all",
        "101A to ack all",
        "100A to ack all",
    ]


def test_late_bundle_reply_leaves_a_newer_bundle_unacknowledged(webhooks, alice_only):
    older = bundle_of_two(alice_only, "one", "two")
    for incident in older:
        incident_resolve(incident=incident, by=None, via="test")
    newer = bundle_of_two(alice_only, "three", "four")

    _, answer = sms_reply(webhooks, "100a")  # meant for the older bundle, read late

    numbers = ", ".join(f"#{i.pk}" for i in older)
    assert f"Nothing changed: {numbers} of bundle 100 are already resolved." in answer
    assert [Incident.objects.get(pk=i.pk).status for i in newer] == ["triggered", "triggered"]


def test_page_retried_alone_after_its_bundle_failed_names_only_its_incident(webhooks, alice_only):
    webhooks.fail_next(status=503, message="Service Unavailable")
    first, second = incidents = [trigger(alice_only, s) for s in ("Disk full", "API down")]
    assert [notification_deliver(pk) for pk in escalate_all(incidents)] == ["failed", "skipped"]
    incident_acknowledge(incident=second, by=None, via="api")

    assert retry_until_done(Notification.objects.get(incident=first)) == ["sent"]

    (sms,) = webhooks.messages
    assert sms.body == Notification.objects.get(incident=first).body
    assert sms.body.startswith(f"#{first.pk} ") and f"#{second.pk}" not in sms.body


def test_second_sms_within_the_interval_waits_and_goes_out_once(webhooks, alice_only, settings):
    settings.PAGING_SMS_MIN_INTERVAL_SECONDS = 5
    first = page(alice_only, "first")
    second = trigger(alice_only, "second")

    (pk,) = incident_escalate(second.pk)

    assert notification_deliver(pk) == "deferred"
    assert len(webhooks.messages) == 1
    held = Notification.objects.get(pk=pk)
    assert held.status == "pending"
    assert dt.timedelta(seconds=4) < held.due_at - timezone.now() <= dt.timedelta(seconds=5)
    with time_machine.travel(held.due_at, tick=False):
        assert notification_deliver(pk) == "sent"
    assert [m.body.split(" ")[0] for m in webhooks.messages] == [f"#{first.pk}", f"#{second.pk}"]


def test_pages_held_by_the_interval_are_bundled_when_it_ends(webhooks, alice_only, settings):
    settings.PAGING_SMS_MIN_INTERVAL_SECONDS = 5
    page(alice_only, "first")
    later = [trigger(alice_only, s) for s in ("second", "third")]
    pks = escalate_all(later)
    assert [notification_deliver(pk) for pk in pks] == ["deferred", "deferred"]

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5), tick=False):
        assert [notification_deliver(pk) for pk in pks] == ["sent", "skipped"]

    assert webhooks.messages[1].body.startswith("2 incidents: ")


def test_hourly_cap_holds_pages_back_and_says_so(webhooks, alice_only, settings):
    settings.PAGING_SMS_MAX_PER_HOUR = 2
    settings.PAGING_SMS_BUNDLE = False
    page(alice_only, "one")
    page(alice_only, "two")

    third = page(alice_only, "three")

    assert len(webhooks.messages) == 2
    held = Notification.objects.get(incident=third)
    assert held.due_at - timezone.now() > dt.timedelta(minutes=50)
    assert "at most 2 SMS an hour to one number" in timeline(third)[-1]
    with time_machine.travel(held.due_at, tick=False):
        assert notification_deliver(held.pk) == "sent"
    assert webhooks.messages[-1].to == ALICE_PHONE


def test_limits_are_per_number(webhooks, alice, bob, settings):
    settings.PAGING_SMS_MIN_INTERVAL_SECONDS = 60
    both = ServiceFactory(name="payments", escalation_policy__levels=[[alice, bob]])

    page(both, "one")

    assert sorted(m.to for m in webhooks.messages) == [ALICE_PHONE, "+15550100002"]


def test_delivery_callback_of_a_bundle_reaches_every_incident(webhooks, alice_only):
    incidents = [trigger(alice_only, f"problem {n}") for n in range(2)]
    for pk in escalate_all(incidents):
        notification_deliver(pk)
    (sms,) = webhooks.messages

    webhooks.send_status_callback(sms, "delivered")

    assert set(Notification.objects.values_list("status", flat=True)) == {"delivered"}
    for incident in incidents:
        assert timeline(incident)[-1] == "SMS to Alice Adams delivered"
