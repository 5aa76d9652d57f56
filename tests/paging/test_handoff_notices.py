"""Handoff notices: the incoming person hears once, by SMS and e-mail, when their shift starts."""

import datetime as dt
import socket
import threading
from email import message_from_bytes

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse

from oncall.celery import app
from paging.models import HandoffNotice
from paging.tasks import handoff_notices
from schedules.models import Layer, LayerMember, Schedule
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db
# Summer time began in Berlin on Sunday 29 March 2026: 09:00 local is 07:00 UTC from then on.
HANDOFF = dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
ALICE_PHONE = "+15550100001"


def rota(*people, notice: bool = True) -> Schedule:
    """A daily rotation handing off at 09:00 Berlin time: on 30 March it is the first's turn."""
    schedule = Schedule.objects.create(
        name="Payments", time_zone="Europe/Berlin", handoff_notice=notice
    )
    layer = Layer.objects.create(
        schedule=schedule,
        shift_unit="days",
        handoff_date=dt.date(2026, 3, 20),
        handoff_time=dt.time(9, 0),
    )
    for position, person in enumerate(people):
        LayerMember.objects.create(layer=layer, user=person, position=position)
    return schedule


def run_at(instant: dt.datetime) -> None:
    with time_machine.travel(instant, tick=False):
        handoff_notices()


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "oncall@example.com"
    yield inbox
    controller.stop()


def test_incoming_person_gets_one_sms_even_when_the_task_runs_twice(twilio, alice, bob):
    rota(alice, bob)

    run_at(HANDOFF + dt.timedelta(seconds=20))
    run_at(HANDOFF + dt.timedelta(seconds=80))

    assert [(m.to, m.body) for m in twilio.messages] == [
        (
            ALICE_PHONE,
            "On call: your shift on Payments started Mon 30 Mar 09:00 until Tue 31 Mar 09:00 "
            "(Europe/Berlin).",
        )
    ]
    assert HandoffNotice.objects.get().status == "sent"


def test_a_9am_local_handoff_is_noticed_at_9am_local_after_the_dst_change(twilio, alice, bob):
    rota(alice, bob)

    run_at(HANDOFF - dt.timedelta(seconds=1))  # 08:59:59 summer time: Bob's shift still
    assert twilio.messages == []

    run_at(HANDOFF)
    run_at(HANDOFF + dt.timedelta(hours=1))  # 09:00 by the winter clock: nothing new
    assert [m.to for m in twilio.messages] == [ALICE_PHONE]

    run_at(HANDOFF + dt.timedelta(days=1))  # Bob's turn, again at 09:00 local
    assert [m.to for m in twilio.messages] == [ALICE_PHONE, "+15550100002"]


def test_the_handoff_email_arrives_once(twilio, smtp, alice, bob):
    ContactMethodFactory(user=alice, kind="email", name="work", address="alice@example.com")
    rota(alice, bob)

    run_at(HANDOFF + dt.timedelta(seconds=5))
    run_at(HANDOFF + dt.timedelta(seconds=65))

    assert [e.rcpt_tos for e in smtp.messages] == [["alice@example.com"]]
    mail = message_from_bytes(smtp.messages[0].content)
    assert mail["Subject"] == "You are on call for Payments"
    assert mail["From"] == "oncall@example.com"
    assert "started Mon 30 Mar 09:00" in mail.get_payload()
    assert len(twilio.messages) == 1


def test_unverified_and_stopped_methods_get_no_handoff_notice(twilio, smtp, alice, bob):
    ContactMethodFactory(
        user=alice, kind="email", name="new", address="a2@example.com", verified=False
    )
    alice.contact_methods.filter(kind="sms").update(sms_stopped_at=dt.datetime.now(dt.UTC))
    rota(alice, bob)

    run_at(HANDOFF + dt.timedelta(seconds=5))

    assert twilio.messages == []
    assert smtp.messages == []
    assert HandoffNotice.objects.get().status == HandoffNotice.Status.FAILED


def test_a_schedule_with_the_switch_off_sends_nothing(twilio, smtp, alice, bob):
    ContactMethodFactory(user=alice, kind="email", name="work", address="alice@example.com")
    rota(alice, bob, notice=False)

    run_at(HANDOFF + dt.timedelta(seconds=5))

    assert twilio.messages == []
    assert smtp.messages == []
    assert not HandoffNotice.objects.exists()


def test_switching_notices_on_mid_shift_does_not_announce_old_shifts(twilio, alice, bob):
    rota(alice, bob)

    run_at(HANDOFF + dt.timedelta(hours=3))

    assert twilio.messages == []


def test_someone_without_sms_or_email_is_recorded_as_not_reached(twilio, bob):
    carol = UserFactory(username="carol")
    rota(carol, bob)

    run_at(HANDOFF + dt.timedelta(seconds=5))

    notice = HandoffNotice.objects.get()
    assert (notice.status, notice.sent_to) == ("failed", "no SMS or e-mail contact method")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_sms(twilio, alice, bob):
    rota(alice, bob)
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait(timeout=10)
            run_at(HANDOFF + dt.timedelta(seconds=5))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [m.to for m in twilio.messages] == [ALICE_PHONE]


def test_beat_runs_the_handoff_task():
    app.loader.import_default_modules()
    assert "paging.handoff_notices" in {e["task"] for e in app.conf.beat_schedule.values()}


def test_admin_lists_the_notices_sent(twilio, alice, bob, admin_client):
    rota(alice, bob)
    run_at(HANDOFF + dt.timedelta(seconds=5))

    page = admin_client.get(reverse("admin:paging_handoffnotice_changelist")).content.decode()
    notice = HandoffNotice.objects.get()
    change = admin_client.get(reverse("admin:paging_handoffnotice_change", args=[notice.pk]))

    assert "Alice Adams" in page and "sent" in page
    assert "SMS mobile: SM" in change.content.decode()
