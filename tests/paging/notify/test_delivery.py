"""Delivery through the fake Twilio: retries, permanent failures, fail-over, status callbacks."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from paging.engine import incident_escalate, sweep
from paging.models import Incident, Notification
from paging.notify.delivery import notification_deliver
from tests.paging.notify.conftest import ALICE_PHONE, page
from tests.paging.test_escalation_engine import timeline, trigger, work

pytestmark = pytest.mark.django_db


def retry_until_done(notification: Notification) -> list[str]:
    """Run the delivery task at each retry's due time, as the worker would; return outcomes."""
    outcomes = []
    for _ in range(10):
        notification.refresh_from_db()
        if notification.status != "pending":
            break
        with time_machine.travel(notification.due_at, tick=False):
            outcomes.append(notification_deliver(notification.pk))
    return outcomes


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "message": "Internal Server Error"},
        {"status": 503, "message": "Service Unavailable"},
        {"status": 429, "code": 20429, "message": "Too Many Requests"},
    ],
)
def test_transient_failure_is_retried_and_delivered_once(webhooks, payments, failure):
    webhooks.fail_next(times=2, **failure)

    page(payments)
    notification = Notification.objects.get()

    assert retry_until_done(notification) == ["failed", "sent"]
    (sms,) = webhooks.messages
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.provider_id) == (
        "sent",
        3,
        sms.sid,
    )


def test_timeout_is_transient_and_retried(webhooks, payments, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 1
    webhooks.fail_next(hang=True)

    page(payments)
    notification = Notification.objects.get()

    assert notification.status == "pending"
    assert "Twilio unreachable: ReadTimeout" in notification.error
    assert retry_until_done(notification) == ["sent"]
    assert len(webhooks.messages) == 1


def test_retries_back_off_exponentially_within_a_couple_of_minutes(webhooks, payments, settings):
    settings.PAGING_DELIVERY_MAX_ATTEMPTS = 5
    webhooks.fail_next(status=503, times=10)
    started = timezone.now()

    page(payments)
    notification = Notification.objects.get()
    gaps = []
    for _ in range(6):
        notification.refresh_from_db()
        if notification.status != "pending":
            break
        tried_at = notification.sent_at or started
        gaps.append(round((notification.due_at - tried_at).total_seconds()))
        with time_machine.travel(notification.due_at, tick=False):
            notification_deliver(notification.pk)

    notification.refresh_from_db()
    assert gaps == [2, 4, 8, 16]
    assert (notification.status, notification.attempts) == ("failed", 5)
    assert notification.sent_at - started < dt.timedelta(minutes=2)
    assert webhooks.messages == []
    assert "SMS to Alice Adams failed: Twilio 503" in timeline(Incident.objects.get())[-1]


@pytest.mark.parametrize("code", [21211, 21610, 21614, 21408])
def test_permanent_failure_falls_over_to_the_next_contact_method_at_once(
    webhooks, payments, sms_then_call, code
):
    webhooks.fail_next(status=400, code=code, message="Refused")

    incident = page(payments)

    sms = Notification.objects.get(kind="sms")
    assert (sms.status, sms.attempts) == ("failed", 1)
    assert str(code) in sms.error
    # The worker's task for the call ran at once (here: right after the SMS task).
    assert Notification.objects.get(kind="voice").status == "sent"
    (placed,) = webhooks.calls
    assert placed.to == ALICE_PHONE
    entry = timeline(incident)[-2]
    assert entry.startswith(f"SMS to Alice Adams failed: Twilio 400 error {code}: Refused; ")
    assert "Voice call to Alice Adams goes out now instead of at" in entry


def test_page_planned_before_its_person_was_deactivated_is_not_sent(
    webhooks, payments, sms_then_call, alice
):
    incident = page(payments)
    alice.is_active = False
    alice.save()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6), tick=False):
        sweep()

    assert webhooks.calls == []
    assert Notification.objects.get(kind="voice").status == "cancelled"
    assert (
        timeline(incident)[-1] == "Voice call to Alice Adams not sent: Alice Adams is deactivated"
    )


def test_unexpected_send_error_is_a_failure_that_falls_over_at_once(
    webhooks, payments, sms_then_call
):
    webhooks.fail_next(garbled=True)  # 200 with an HTML page: the client cannot read it

    incident = page(payments)

    sms = Notification.objects.get(kind="sms")
    assert (sms.status, sms.attempts) == ("failed", 1)
    assert webhooks.messages == []
    (placed,) = webhooks.calls
    assert placed.to == ALICE_PHONE
    entry = timeline(incident)[-2]
    assert entry.startswith("SMS to Alice Adams failed: unexpected JSONDecodeError: ")
    assert "Voice call to Alice Adams goes out now instead of at" in entry


def test_page_whose_worker_died_on_its_last_attempt_fails_over_instead_of_reviving(
    webhooks, payments, sms_then_call, settings
):
    incident = trigger(payments)
    incident_escalate(incident.pk)
    sms = Notification.objects.get(kind="sms")
    # What a worker killed mid-send on the page's last attempt leaves behind.
    last = settings.PAGING_DELIVERY_MAX_ATTEMPTS
    Notification.objects.filter(pk=sms.pk).update(
        status="sending", attempts=last, sent_at=timezone.now()
    )

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        sweep()
        work()

    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("failed", last)
    assert [m for m in webhooks.messages if m.to == ALICE_PHONE] == []  # Bob's level came too
    (placed,) = webhooks.calls
    assert placed.to == ALICE_PHONE
    (entry,) = [e for e in timeline(incident) if e.startswith("SMS to Alice Adams failed")]
    why = f"its worker stopped mid-send, and it has used its {last} attempts"
    assert entry.startswith(f"SMS to Alice Adams failed: {why}")
    assert "Voice call to Alice Adams goes out now instead of at" in entry


def test_summary_with_line_breaks_and_control_characters_is_one_sms_line(webhooks, payments):
    incident = page(payments, "Disk full\non db1\x07\x1b[31m\r\nsee runbook")

    (sms,) = webhooks.messages
    summary = "Disk full on db1 [31m see runbook"
    assert sms.body == f"#{incident.pk} CRIT payments: {summary} - reply 1A ack, 1R resolve"
    assert timeline(incident)[-1] == "SMS sent to Alice Adams"


def test_unsubscribed_number_is_marked_stopped(webhooks, payments, alice):
    webhooks.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")

    page(payments)

    assert alice.contact_methods.get(kind="sms").sms_stopped_at is not None


def test_failure_with_no_other_method_says_so(webhooks, payments):
    webhooks.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")

    incident = page(payments)

    assert timeline(incident)[-1].endswith("; no other contact method left for Alice Adams")


def test_status_callbacks_move_the_notification_and_show_on_the_timeline(webhooks, payments):
    incident = page(payments)
    (sms,) = webhooks.messages
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_status) == ("sent", "queued")

    assert webhooks.send_status_callback(sms, "sent")[0] == 200
    notification.refresh_from_db()
    assert (notification.status, notification.provider_status) == ("sent", "sent")

    webhooks.send_status_callback(sms, "delivered")
    notification.refresh_from_db()
    assert (notification.status, notification.provider_status) == ("delivered", "delivered")
    assert timeline(incident)[-1] == "SMS to Alice Adams delivered"

    webhooks.send_status_callback(sms, "sent")  # late and out of order: changes nothing
    notification.refresh_from_db()
    assert notification.provider_status == "delivered"


def test_undelivered_sms_sends_the_next_contact_method_at_once(webhooks, payments, sms_then_call):
    incident = page(payments)
    (sms,) = webhooks.messages

    webhooks.send_status_callback(sms, "undelivered", error_code="30003")

    failed = Notification.objects.get(kind="sms")
    assert (failed.status, failed.error) == ("failed", "Twilio error 30003")
    assert Notification.objects.get(kind="voice").due_at <= timezone.now()
    assert timeline(incident)[-1].startswith(
        "SMS to Alice Adams undelivered (Twilio error 30003); "
        "Voice call to Alice Adams goes out now"
    )


def test_forged_status_callback_is_403_and_changes_nothing(webhooks, payments):
    page(payments)
    (sms,) = webhooks.messages
    notification = Notification.objects.get()

    params = {"MessageSid": sms.sid, "MessageStatus": "failed"}
    status, _ = webhooks.signed_post(sms.status_callback, params, valid_signature=False)

    assert status == 403
    notification.refresh_from_db()
    assert notification.status == "sent"


def test_callback_naming_another_message_is_200_and_changes_nothing(webhooks, payments):
    page(payments)
    (sms,) = webhooks.messages

    status, _ = webhooks.signed_post(
        sms.status_callback, {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"}
    )

    assert status == 200
    assert Notification.objects.get().status == "sent"


def test_notification_row_exists_before_the_provider_is_called(webhooks, payments):
    webhooks.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")

    page(payments)

    notification = Notification.objects.get()
    assert notification.body.startswith("#")
    assert (notification.status, notification.provider_id) == ("failed", "")
