"""A worker SIGKILLed in the middle of a send: the page goes out once, never twice, never lost.

A real process claims the notification and calls the fake Twilio, which takes the SMS or call
(or not) and never answers; the process is killed there. Once the claim is older than any
Twilio request takes (TWILIO_TIMEOUT_SECONDS, 5 s, and a little), the sweeper revives the
notification and asks Twilio whether it already has it before sending again: a sweep 10 s after
the claim sends the page.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from paging.engine import sweep
from paging.models import ContactMethod, Incident, Notification
from paging.notify.delivery import notification_body
from tests.conftest import require_services
from tests.e2e.conftest import ROOT, _worker_env
from tests.factories import ContactMethodFactory, ServiceFactory, UserFactory
from tests.paging.test_escalation_engine import timeline
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

NOT_AGAIN = "was already sent before a worker stopped or lost the answer; not sent again"


def notification_for(kind: str) -> Notification:
    """Store a due notification of `kind` for Alice (no task: only our worker will send it)."""
    alice = UserFactory(username="alice", first_name="Alice", last_name="Adams")
    method = ContactMethodFactory(user=alice, kind=kind, address="+15550100001")
    return _due_page(method, ServiceFactory(name="payments"), "Disk full on db1")


def bundle_for_alice() -> list[Notification]:
    """Store two SMS pages to Alice for two incidents, due together: one bundled SMS."""
    first = notification_for("sms")
    method = ContactMethod.objects.get(user=first.user)
    return [first, _due_page(method, first.incident.service, "API down")]


def _due_page(method: ContactMethod, service, summary: str) -> Notification:
    incident = Incident.objects.create(service=service, dedup_key=summary, summary=summary)
    return Notification.objects.create(
        incident=incident,
        user=method.user,
        tier=0,
        rule_key=f"{method.kind}-now",
        kind=method.kind,
        address=method.address,
        body=notification_body(incident, method),
        due_at=timezone.now(),
    )


@contextmanager
def killed_while_sending(notification: Notification, twilio, tmp_path: Path, *, taken):
    """Send `notification` from a worker process; SIGKILL it once `taken()` holds."""
    require_services()  # the worker process must see the test's database
    env = _worker_env("http://127.0.0.1:9", twilio)
    code = (
        "import django; django.setup(); from paging.notify.delivery import notification_deliver; "
        f"notification_deliver({notification.pk})"
    )
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        wait_until(lambda: taken() or worker.poll() is not None, timeout=60, what="the send")
        assert worker.poll() is None, log.read_text()[-4000:]
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        yield
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        twilio.release()


def sweep_ten_seconds_later(notification: Notification) -> None:
    """Run the sweeper 10 s after the dead worker claimed the notification."""
    notification.refresh_from_db()
    assert notification.status == "sending"
    later = notification.sent_at + dt.timedelta(seconds=10)
    with time_machine.travel(later, tick=False):
        sweep()
    notification.refresh_from_db()


def test_sms_twilio_took_before_the_worker_died_is_not_sent_again(
    transactional_db, twilio, tmp_path
):
    notification = notification_for("sms")
    twilio.fail_next(hang=True, accept=True)

    with killed_while_sending(notification, twilio, tmp_path, taken=lambda: twilio.messages):
        sweep_ten_seconds_later(notification)

    (sms,) = twilio.messages
    assert (notification.status, notification.provider_id) == ("sent", sms.sid)
    assert f"SMS to Alice Adams {NOT_AGAIN}" in timeline(notification.incident)


def test_call_twilio_placed_before_the_worker_died_is_not_placed_again(
    transactional_db, twilio, tmp_path
):
    notification = notification_for("voice")
    twilio.fail_next(hang=True, accept=True)

    with killed_while_sending(notification, twilio, tmp_path, taken=lambda: twilio.calls):
        sweep_ten_seconds_later(notification)

    (call,) = twilio.calls
    assert (notification.status, notification.provider_id) == ("sent", call.sid)
    assert f"Voice call to Alice Adams {NOT_AGAIN}" in timeline(notification.incident)


def test_sms_twilio_never_got_is_sent_once_by_a_sweep_ten_seconds_after_the_worker_died(
    transactional_db, twilio, tmp_path
):
    notification = notification_for("sms")
    twilio.fail_next(hang=True)  # the request never reaches Twilio's records

    with killed_while_sending(notification, twilio, tmp_path, taken=lambda: twilio.hanging):
        assert twilio.messages == []
        sweep_ten_seconds_later(notification)

    (sms,) = twilio.messages
    assert (notification.status, notification.provider_id) == ("sent", sms.sid)
    assert sms.body == notification.body
    assert timeline(notification.incident) == ["SMS sent to Alice Adams"]


def test_twilio_unable_to_say_means_sent_again_and_said(transactional_db, twilio, tmp_path):
    notification = notification_for("sms")
    twilio.fail_next(hang=True, accept=True)
    twilio.fail_next(status=503, message="Service Unavailable", lists=True)

    with killed_while_sending(notification, twilio, tmp_path, taken=lambda: twilio.messages):
        sweep_ten_seconds_later(notification)

    first, second = twilio.messages  # a duplicate is better than a lost page
    assert first.body == second.body == notification.body
    assert (notification.status, notification.provider_id) == ("sent", second.sid)
    assert timeline(notification.incident) == [
        "Could not ask whether SMS to Alice Adams went out before "
        "(Twilio answered 503 to a list); sending it again",
        "SMS sent to Alice Adams",
    ]


def test_bundle_twilio_took_before_the_worker_died_is_not_sent_again(
    transactional_db, twilio, tmp_path
):
    pages = bundle_for_alice()
    twilio.fail_next(hang=True, accept=True)

    with killed_while_sending(pages[0], twilio, tmp_path, taken=lambda: twilio.messages):
        sweep_ten_seconds_later(pages[0])

    (sms,) = twilio.messages
    assert sms.body.startswith("2 incidents: ")
    assert len(twilio.lists) == 1  # one question for the whole bundle
    for page in pages:
        page.refresh_from_db()
        assert (page.status, page.provider_id, page.body) == ("sent", sms.sid, sms.body)
        assert f"SMS to Alice Adams {NOT_AGAIN}" in timeline(page.incident)


def test_bundle_twilio_never_got_goes_out_once_for_both_after_the_worker_died(
    transactional_db, twilio, tmp_path
):
    pages = bundle_for_alice()
    twilio.fail_next(hang=True)  # the request never reaches Twilio's records

    with killed_while_sending(pages[0], twilio, tmp_path, taken=lambda: twilio.hanging):
        sweep_ten_seconds_later(pages[0])

    (sms,) = twilio.messages
    assert sms.body.startswith("2 incidents: ")
    for page in pages:
        assert f"#{page.incident_id} payments: {page.incident.summary}" in sms.body
        page.refresh_from_db()
        assert (page.status, page.provider_id, page.body) == ("sent", sms.sid, sms.body)
        assert timeline(page.incident) == ["SMS sent to Alice Adams (one SMS for 2 incidents)"]
