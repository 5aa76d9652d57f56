"""Status callbacks that reach us before Twilio's answer to our own send request.

Twilio may report on a message or call (delivered, failed, answered ...) before our worker has
heard its SID back and recorded it. Here the fake Twilio posts those callbacks over HTTP to a
live server while it holds its answer to the worker, as a real race would have it.
"""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from paging.engine import incident_escalate, sweep
from paging.models import EarlyCallback, Notification, NotificationRule, TimelineEntry
from paging.notify.delivery import notification_deliver
from tests.factories import ServiceFactory
from tests.fakes.twilio import FakeCall
from tests.paging.notify.conftest import ALICE_PHONE, page
from tests.paging.notify.test_bundles_and_limits import escalate_all
from tests.paging.notify.test_delivery import retry_until_done
from tests.paging.test_escalation_engine import timeline, trigger
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(live_server, twilio, settings):
    """Our web process on a live server, where Twilio's status callbacks arrive over HTTP."""
    settings.PUBLIC_URL = live_server.url
    return live_server


def reported_before_answer(twilio, *statuses: str, **extra: object) -> list[int]:
    """Let Twilio report `statuses` on the next send before it answers our request for it.

    Return the HTTP statuses our webhook answered (filled in as the callbacks are posted).
    """
    answers: list[int] = []

    def report(record) -> None:
        for status in statuses:
            if isinstance(record, FakeCall):
                answers.append(twilio.send_call_status(record, status, **extra)[0])
            else:
                answers.append(twilio.send_status_callback(record, status, **extra)[0])

    twilio.before_answer(report)
    return answers


def test_delivered_reported_before_twilio_answers_ends_delivered(web, twilio, payments):
    answers = reported_before_answer(twilio, "delivered")

    incident = page(payments)

    assert answers == [200]
    (sms,) = twilio.messages
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_id, notification.provider_status) == (
        "delivered",
        sms.sid,
        "delivered",
    )
    assert timeline(incident)[-2:] == ["SMS sent to Alice Adams", "SMS to Alice Adams delivered"]


def test_reports_before_twilio_answers_apply_in_order_and_late_ones_change_nothing(
    web, twilio, payments
):
    answers = reported_before_answer(twilio, "sent", "delivered", "sent")

    incident = page(payments)

    assert answers == [200, 200, 200]
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_status) == ("delivered", "delivered")
    assert timeline(incident).count("SMS to Alice Adams delivered") == 1


@pytest.mark.parametrize("outcome", ["failed", "undelivered"])
def test_failure_reported_before_twilio_answers_falls_over_to_the_next_method(
    web, twilio, payments, sms_then_call, outcome
):
    reported_before_answer(twilio, outcome, error_code="30003")

    incident = page(payments)

    failed = Notification.objects.get(kind="sms")
    assert (failed.status, failed.error) == ("failed", "Twilio error 30003")
    (call,) = twilio.calls  # due in five minutes, placed at once instead
    assert call.to == ALICE_PHONE
    assert Notification.objects.get(kind="voice").status == "sent"
    assert any(
        line.startswith(
            f"SMS to Alice Adams {outcome} (Twilio error 30003); "
            "Voice call to Alice Adams goes out now instead of at"
        )
        for line in timeline(incident)
    )


def test_report_naming_another_sid_before_twilio_answers_changes_nothing(web, twilio, payments):
    answers: list[int] = []
    other = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed", "ErrorCode": "30003"}
    twilio.before_answer(
        lambda sms: answers.append(twilio.signed_post(sms.status_callback, other)[0])
    )

    incident = page(payments)

    assert answers == [200]
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_status) == ("sent", "queued")
    assert timeline(incident)[-1] == "SMS sent to Alice Adams"
    # Its own callbacks still move it.
    (sms,) = twilio.messages
    twilio.send_status_callback(sms, "delivered")
    assert Notification.objects.get().status == "delivered"


def test_delivery_of_a_bundle_reported_before_twilio_answers_reaches_every_incident(
    web, twilio, alice
):
    service = ServiceFactory(name="payments", escalation_policy__levels=[[alice]])
    incidents = [trigger(service, f"problem {n}") for n in range(3)]
    answers = reported_before_answer(twilio, "delivered")

    outcomes = [notification_deliver(pk) for pk in escalate_all(incidents)]

    assert (outcomes, answers) == (["sent", "skipped", "skipped"], [200])
    (sms,) = twilio.messages
    assert set(Notification.objects.values_list("status", "provider_id")) == {
        ("delivered", sms.sid)
    }
    for incident in incidents:
        assert timeline(incident)[-1] == "SMS to Alice Adams delivered"


def test_call_answered_and_completed_before_twilio_answers_is_delivered(
    web, twilio, payments, alice, alice_voice
):
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)

    def ring_answer_hang_up(call) -> None:
        twilio.send_call_status(call, "ringing")
        twilio.send_call_status(call, "in-progress")
        twilio.send_call_status(call, "completed", duration=42)

    twilio.before_answer(ring_answer_hang_up)

    incident = page(payments)

    notification = Notification.objects.get()
    assert (notification.status, notification.provider_status) == ("delivered", "completed")
    assert timeline(incident)[-3:] == [
        "Voice call placed to Alice Adams",
        "Voice call to Alice Adams answered",
        "Voice call to Alice Adams completed (42 s)",
    ]


def test_delivered_before_twilio_hung_up_unanswered_is_applied_once_the_send_is_found(
    web, twilio, payments
):
    twilio.fail_next(accept=True)  # Twilio takes the SMS, reports on it, then hangs up
    answers = reported_before_answer(twilio, "delivered")

    page(payments)
    notification = Notification.objects.get()
    assert (notification.status, answers) == ("pending", [200])

    assert retry_until_done(notification) == ["sent"]
    (sms,) = twilio.messages
    notification.refresh_from_db()
    assert (notification.status, notification.provider_id) == ("delivered", sms.sid)


def test_kept_report_whose_sid_is_never_recorded_is_deleted_after_a_day(web, twilio, payments):
    twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    page(payments)
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(status="sending")
    url = f"{web.url}/twilio/status/{notification.pk}/"
    params = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "delivered"}
    assert twilio.signed_post(url, params)[0] == 200
    Notification.objects.filter(pk=notification.pk).update(status="failed")

    sweep()
    assert EarlyCallback.objects.count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        sweep()
    assert EarlyCallback.objects.count() == 0
    assert Notification.objects.get(pk=notification.pk).status == "failed"


def in_thread(work) -> tuple[threading.Thread, list]:
    """Run `work` on its own thread (and database connection); its result lands in the list."""
    result: list = []

    def run() -> None:
        try:
            result.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


@pytest.mark.postgresql  # stalls the worker with LOCK TABLE and watches pg_locks
def test_delivered_reported_while_the_worker_records_the_sid_ends_delivered(web, twilio, payments):
    incident = trigger(payments)
    (pk,) = incident_escalate(incident.pk)
    with transaction.atomic():
        # Stall the worker right after it wrote the SID, before it commits (at its timeline entry).
        table = TimelineEntry._meta.db_table
        connection.cursor().execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        worker, outcome = in_thread(lambda: notification_deliver(pk))
        (sms,) = twilio.wait_for_messages(1)
        wait_until(waiting_on_locks, what="the worker to wait at its timeline entry")
        callback, answer = in_thread(lambda: twilio.send_status_callback(sms, "delivered")[0])
        wait_until(
            lambda: answer or waiting_on_locks() == 2, what="the callback to be answered or wait"
        )
    worker.join(10)
    callback.join(10)

    assert (outcome, answer) == (["sent"], [200])
    notification = Notification.objects.get()
    assert (notification.status, notification.provider_id) == ("delivered", sms.sid)
    assert timeline(incident)[-2:] == ["SMS sent to Alice Adams", "SMS to Alice Adams delivered"]


def test_redial_reported_on_before_twilio_answers_ignores_the_first_calls_late_report(
    web, twilio, payments, alice, alice_voice, settings
):
    settings.PAGING_VOICE_REDIALS = 1
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)
    incident = page(payments)
    (first,) = twilio.calls
    twilio.send_call_status(first, "no-answer")
    redial = Notification.objects.get()
    assert redial.status == "pending"

    def reports(second) -> None:
        twilio.send_call_status(first, "completed", duration=5)  # late, about the first call
        twilio.send_call_status(second, "completed", duration=42)

    twilio.before_answer(reports)
    with time_machine.travel(redial.due_at, tick=False):
        assert notification_deliver(redial.pk) == "sent"

    _, second = twilio.calls
    redial.refresh_from_db()
    assert (redial.status, redial.provider_id) == ("delivered", second.sid)
    completed = [line for line in timeline(incident) if "completed" in line]
    assert completed == ["Voice call to Alice Adams completed (42 s)"]
