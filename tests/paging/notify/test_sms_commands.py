"""Answering a page by SMS: spellings, bare ack, escalate, STOP/START/HELP, limits, forgeries."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from paging.actions import incident_resolve
from paging.engine import incident_escalate
from paging.models import Incident, Notification
from paging.notify.delivery import notification_deliver
from paging.notify.replies import HELP
from paging.tasks import replies_prune
from tests.conftest import TWILIO_FROM
from tests.factories import ContactMethodFactory, UserFactory
from tests.paging.notify.conftest import ALICE_PHONE, BOB_PHONE, page, sms_reply
from tests.paging.test_escalation_engine import deactivate, run_due, timeline

pytestmark = pytest.mark.django_db
SENDERS = 6


def status_of(incident: Incident) -> str:
    incident.refresh_from_db()
    return incident.status


@pytest.mark.parametrize("text", ["1a", "1A", " 1 a ", "ack 1", "ACK1", '"1a"', "'1A'", "1 ack"])
def test_spellings_of_acknowledge(webhooks, payments, text):
    incident = page(payments)

    status, answer = sms_reply(webhooks, text)

    assert status == 200
    assert f"Acknowledged #{incident.pk} payments: Disk full on db1" in answer
    assert status_of(incident) == "acknowledged"


@pytest.mark.parametrize("text", ["1r", "1 R", "1c", "res 1", "resolve 1", "close 1"])
def test_spellings_of_resolve(webhooks, payments, text):
    incident = page(payments)

    _, answer = sms_reply(webhooks, text)

    assert f"Resolved #{incident.pk} payments" in answer
    assert status_of(incident) == "resolved"


def test_ack_by_reply_stops_escalation(webhooks, payments, alice):
    incident = page(payments)

    sms_reply(webhooks, "1A")

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10), tick=False):
        assert run_due(incident) == []
    assert [m.to for m in webhooks.messages] == [ALICE_PHONE]
    assert timeline(incident)[-1] == "Acknowledged by Alice Adams via SMS"


def test_4e_escalates_to_the_next_level_now(webhooks, payments):
    incident = page(payments)

    _, answer = sms_reply(webhooks, "1e")
    run_due(incident)

    assert f"Escalated #{incident.pk}" in answer
    assert [m.to for m in webhooks.messages] == [ALICE_PHONE, BOB_PHONE]
    assert "Escalated by Alice Adams via SMS" in timeline(incident)


def test_bare_a_acknowledges_the_only_open_page(webhooks, payments):
    incident = page(payments)

    _, answer = sms_reply(webhooks, "a")

    assert f"Acknowledged #{incident.pk}" in answer
    assert status_of(incident) == "acknowledged"


def test_bare_ack_with_two_open_pages_says_which_codes(webhooks, payments):
    first, second = page(payments, "one"), page(payments, "two")

    _, answer = sms_reply(webhooks, "ack")

    assert f"Open pages: 1A #{first.pk}, 2A #{second.pk}" in answer
    assert (status_of(first), status_of(second)) == ("triggered", "triggered")


def test_already_acknowledged_gets_a_helpful_answer_and_changes_nothing(webhooks, payments):
    incident = page(payments)
    sms_reply(webhooks, "1a")
    acknowledged_at = Incident.objects.get().acknowledged_at

    _, answer = sms_reply(webhooks, "1a")

    assert "Nothing changed" in answer and "already acknowledged by Alice Adams" in answer
    assert Incident.objects.get().acknowledged_at == acknowledged_at
    assert timeline(incident).count("Acknowledged by Alice Adams via SMS") == 1


def test_reply_naming_a_resolved_incident_says_so_and_changes_nothing(webhooks, payments):
    incident = page(payments)
    sms_reply(webhooks, "1r")
    before = timeline(incident)

    _, answer = sms_reply(webhooks, "1a")

    assert f"Nothing changed: #{incident.pk} payments is already resolved." in answer
    assert status_of(incident) == "resolved"
    assert timeline(incident) == before


def test_late_reply_to_resolved_incident_leaves_newer_incident_open(webhooks, payments):
    older = page(payments, "older")
    incident_resolve(incident=older, by=None, via="Alertmanager")
    newer = page(payments, "newer")

    _, answer = sms_reply(webhooks, "1R")  # meant for the older page, read late

    assert f"Nothing changed: #{older.pk} payments is already resolved." in answer
    assert status_of(newer) == "triggered"
    assert webhooks.messages[-1].body.endswith("reply 2A ack, 2R resolve")


def test_reply_code_is_given_again_only_after_the_quarantine(webhooks, payments, settings):
    settings.PAGING_REPLY_CODE_QUARANTINE = dt.timedelta(hours=24)
    first = page(payments, "first")
    incident_resolve(incident=first, by=None, via="test")
    resolved_at = timezone.now()

    with time_machine.travel(resolved_at + dt.timedelta(hours=23, minutes=59), tick=False):
        page(payments, "within the quarantine")
    with time_machine.travel(resolved_at + dt.timedelta(hours=24, seconds=1), tick=False):
        page(payments, "after it")

    codes = [m.body.rsplit("reply ", 1)[1].split("A")[0] for m in webhooks.messages]
    assert codes == ["1", "2", "1"]


def test_unknown_code_lists_the_open_ones(webhooks, payments):
    incident = page(payments)

    _, answer = sms_reply(webhooks, "7a")

    assert f"No open incident has code 7 for this number. Open pages: 1A #{incident.pk}" in answer
    assert status_of(incident) == "triggered"


def test_help_explains_the_replies(webhooks, payments):
    page(payments)

    _, answer = sms_reply(webhooks, "HELP")

    assert "4A acks the page with code 4, 4R resolves it, 4E escalates it" in answer
    assert "STOP ends SMS, START resumes." in answer
    assert len(HELP) <= 160


def test_unknown_sender_gets_no_answer_and_changes_nothing(webhooks, payments):
    incident = page(payments)

    status, answer = sms_reply(webhooks, "1a", phone="+15550999999")

    assert status == 200
    assert "<Message>" not in answer
    assert status_of(incident) == "triggered"


def test_unverified_sender_gets_no_answer(webhooks, payments):
    stranger = UserFactory(username="mallory")
    ContactMethodFactory(user=stranger, address="+15550999998", verified=False)
    incident = page(payments)

    _, answer = sms_reply(webhooks, "1a", phone="+15550999998")

    assert "<Message>" not in answer
    assert status_of(incident) == "triggered"


def test_forged_reply_is_403_and_changes_nothing(webhooks, payments):
    incident = page(payments)

    status, _ = sms_reply(webhooks, "1a", valid=False)

    assert status == 403
    assert status_of(incident) == "triggered"
    assert timeline(incident)[-1] == "SMS sent to Alice Adams"


def test_old_inbound_path_still_works(webhooks, payments):
    incident = page(payments)

    status, answer = webhooks.send_inbound_sms(
        "http://testserver/twilio/sms/", from_=ALICE_PHONE, to="+15559990000", body="1a"
    )

    assert (status, status_of(incident)) == (200, "acknowledged")
    assert "Acknowledged" in answer


def test_stop_skips_sms_with_a_reason_and_start_resumes(webhooks, payments):
    status, answer = sms_reply(webhooks, "STOP")
    assert (status, "<Message>" in answer) == (200, False)  # Twilio confirms STOP itself

    stopped = page(payments, "while stopped")
    assert [m.to for m in webhooks.messages] == [BOB_PHONE]  # Level 1 skipped, Level 2 at once
    assert timeline(stopped)[1:3] == [
        "Alice Adams not paged by SMS (mobile): the number replied STOP (START re-enables it)",
        "Level 1 skipped: Alice Adams has no usable contact method",
    ]

    sms_reply(webhooks, "start")
    resumed = page(payments, "after start")
    sms = webhooks.messages[-1]
    assert sms.to == ALICE_PHONE
    assert sms.body.startswith(f"#{resumed.pk} CRIT payments: after start")


@pytest.mark.parametrize("word", ["stop", "Unsubscribe", "END", "quit", "cancel"])
def test_every_opt_out_keyword_is_recorded_not_answered(webhooks, alice, word):
    _, answer = sms_reply(webhooks, word)

    assert "<Message>" not in answer
    assert alice.contact_methods.get().sms_stopped_at is not None


def test_replies_are_rate_limited_per_number(webhooks, payments, settings):
    settings.PAGING_SMS_REPLIES_PER_MINUTE = 3
    incident = page(payments)
    for _ in range(3):
        sms_reply(webhooks, "hello")

    _, answer = sms_reply(webhooks, "1a")

    assert "<Message>" not in answer
    assert status_of(incident) == "triggered"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1, seconds=1), tick=False):
        _, answer = sms_reply(webhooks, "1a")
    assert status_of(incident) == "acknowledged"


def test_reply_words_never_collide_with_carrier_keywords():
    from paging.notify.replies import HELP_WORDS, OPT_IN, OPT_OUT, VERBS

    assert not set(VERBS) & (OPT_OUT | OPT_IN | HELP_WORDS)


def test_no_notification_is_written_for_a_stopped_number(webhooks, payments, alice):
    sms_reply(webhooks, "stop")

    page(payments)

    assert not Notification.objects.filter(user=alice).exists()


# Twilio may deliver one inbound SMS more than once (same MessageSid).


def test_replayed_inbound_sms_escalates_once_and_gets_the_same_answer(webhooks, payments):
    incident = page(payments)

    answers = [sms_reply(webhooks, "1E", sid="SM" + "1" * 32)[1] for _ in range(3)]
    run_due(incident)

    assert f"Escalated #{incident.pk}" in answers[0]
    assert answers == [answers[0]] * 3
    assert timeline(incident).count("Escalated by Alice Adams via SMS") == 1
    assert [m.to for m in webhooks.messages] == [ALICE_PHONE, BOB_PHONE]


def test_replayed_reply_that_got_no_answer_still_gets_none(webhooks, payments):
    incident = page(payments)
    sid = "SM" + "2" * 32

    first = sms_reply(webhooks, "1a", phone="+15550999999", sid=sid)
    again = sms_reply(webhooks, "1a", phone="+15550999999", sid=sid)

    assert first == again == (200, first[1])
    assert "<Message>" not in again[1]
    assert status_of(incident) == "triggered"


def test_a_new_message_with_the_same_text_is_acted_on(webhooks, payments):
    first, second = page(payments, "one"), page(payments, "two")

    sms_reply(webhooks, "1a")
    _, answer = sms_reply(webhooks, "2a")
    _, again = sms_reply(webhooks, "2a")

    assert f"Acknowledged #{second.pk}" in answer
    assert "Nothing changed" in again and "already acknowledged by Alice Adams" in again
    assert (status_of(first), status_of(second)) == ("acknowledged", "acknowledged")


def test_hourly_prune_forgets_handled_sms_and_codes_only_after_the_quarantine(
    webhooks, payments, settings
):
    settings.PAGING_REPLY_CODE_QUARANTINE = dt.timedelta(hours=24)
    page(payments)
    sms_reply(webhooks, "1r")
    now = timezone.now()

    with time_machine.travel(now + dt.timedelta(hours=23), tick=False):
        kept = replies_prune()
    with time_machine.travel(now + dt.timedelta(hours=24, seconds=1), tick=False):
        pruned = replies_prune()

    assert kept == {
        "handled messages": 0,
        "reply codes": 0,
        "bundle codes": 0,
        "verification sends": 0,
    }
    assert pruned == {
        "handled messages": 1,
        "reply codes": 1,
        "bundle codes": 0,
        "verification sends": 0,
    }


def test_simultaneous_deliveries_of_one_inbound_sms_act_once(transactional_db, twilio, payments):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...): SQLite has one writer")
    incident = page(payments)
    params = {"MessageSid": "SM" + "3" * 32, "From": ALICE_PHONE, "To": TWILIO_FROM, "Body": "1E"}
    url = "http://testserver/twilio/sms/inbound/"
    signature = RequestValidator(twilio.auth_token).compute_signature(url, params)
    start, answers = threading.Barrier(SENDERS), []

    def deliver() -> None:
        try:
            start.wait(timeout=10)
            response = Client().post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)
            answers.append((response.status_code, response.content.decode()))
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=deliver) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(answers) == SENDERS and len(set(answers)) == 1
    assert f"Escalated #{incident.pk}" in answers[0][1]
    assert timeline(incident).count("Escalated by Alice Adams via SMS") == 1


@pytest.mark.parametrize("text", ["1a", "1r", "1e", "a", "100a"])
def test_deactivated_persons_reply_acts_on_nothing(webhooks, payments, alice, text):
    incident = page(payments)
    deactivate(alice)

    status, answer = sms_reply(webhooks, text)

    assert (status, "<Message>" in answer) == (200, False)
    assert status_of(incident) == "triggered"
    assert timeline(incident)[-1] == "SMS sent to Alice Adams"


def test_sms_reply_1e_twice_says_in_words_when_it_is_too_soon(webhooks, payments):
    incident = page(payments)

    _, first = sms_reply(webhooks, "1E")
    for pk in incident_escalate(incident.pk):
        notification_deliver(pk)  # Level 2 is paged once
    _, second = sms_reply(webhooks, "1E")

    assert f"Escalated #{incident.pk}" in first
    assert f"Not escalated: #{incident.pk} was escalated by hand less than 1 minute ago" in second
    assert timeline(incident).count("Escalated by Alice Adams via SMS") == 1
    assert [m.to for m in webhooks.messages].count(BOB_PHONE) == 1
