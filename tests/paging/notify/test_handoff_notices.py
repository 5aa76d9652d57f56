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
from paging.tasks import handoff_notices, sweep
from schedules.models import Layer, LayerMember, Schedule
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db
# Summer time began in Berlin on Sunday 29 March 2026: 09:00 local is 07:00 UTC from then on.
HANDOFF = dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
ALICE_PHONE = "+15550100001"


def rota(*people, notice: bool = True, name: str = "Payments") -> Schedule:
    """A daily rotation handing off at 09:00 Berlin time: on 30 March it is the first's turn."""
    schedule = Schedule.objects.create(name=name, time_zone="Europe/Berlin", handoff_notice=notice)
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


def sweep_at(instant: dt.datetime) -> None:
    """Run the sweeper as beat would at `instant` (it sends what is due and not yet sent)."""
    with time_machine.travel(instant, tick=False):
        sweep()


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


def test_a_deactivated_person_gets_no_handoff_notice(twilio, smtp, alice, bob):
    ContactMethodFactory(user=alice, kind="email", name="work", address="alice@example.com")
    rota(alice, bob)
    alice.is_active = False
    alice.save()

    run_at(HANDOFF + dt.timedelta(seconds=5))

    assert twilio.messages == []
    assert smtp.messages == []


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
    if connection.vendor != "postgresql":
        # The claim and its messages are one transaction; SQLite's shared in-memory test
        # database refuses a second writer at once ("table is locked") instead of waiting.
        pytest.skip("concurrent writers need PostgreSQL")
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


# --- Through the same delivery path as pages --------------------------------------------------


def test_a_handoff_sms_waits_for_the_numbers_sms_limit(twilio, alice, bob, settings):
    settings.PAGING_SMS_MIN_INTERVAL_SECONDS = 60
    rota(alice, bob, name="Checkout")
    rota(alice, bob, name="Payments")  # both hand over to Alice at 09:00

    run_at(HANDOFF + dt.timedelta(seconds=5))
    first = [m.body for m in twilio.messages]
    sweep_at(HANDOFF + dt.timedelta(seconds=30))
    early = len(twilio.messages)
    sweep_at(HANDOFF + dt.timedelta(seconds=66))

    assert (len(first), early) == (1, 1)
    assert sorted(m.body.split(" started")[0] for m in twilio.messages) == [
        "On call: your shift on Checkout",
        "On call: your shift on Payments",
    ]


def test_a_handoff_sms_twilio_refused_for_a_moment_is_sent_on_retry(twilio, alice, bob):
    twilio.fail_next(status=503, message="Service Unavailable")
    rota(alice, bob)

    run_at(HANDOFF + dt.timedelta(seconds=5))
    refused = list(twilio.messages)
    sweep_at(HANDOFF + dt.timedelta(seconds=15))

    assert refused == []
    assert [m.to for m in twilio.messages] == [ALICE_PHONE]


def test_a_handoff_sms_whose_answer_was_lost_is_looked_up_not_sent_again(
    twilio, alice, bob, admin_client
):
    twilio.fail_next(accept=True)  # Twilio takes it, then hangs up without an answer
    rota(alice, bob)

    run_at(HANDOFF + dt.timedelta(seconds=5))
    sweep_at(HANDOFF + dt.timedelta(seconds=15))

    (sms,) = twilio.messages
    assert [(kind, query["To"]) for kind, query in twilio.lists] == [("Messages", ALICE_PHONE)]
    notice = HandoffNotice.objects.get()
    page = admin_client.get(reverse("admin:paging_handoffnotice_change", args=[notice.pk]))
    assert sms.sid in page.content.decode()
