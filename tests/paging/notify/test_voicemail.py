"""Page calls answered by voicemail or a fax: no page delivered, the next contact method at once.

Calls ask Twilio for answering machine detection; the fake Twilio then says who answered
(AnsweredBy) in the TwiML fetch and the status callbacks, as Twilio does.
"""

import datetime as dt

import pytest
from django.utils import timezone

from paging.models import Incident, Notification, NotificationRule
from paging.notify.delivery import notification_deliver
from tests.paging.notify.conftest import ALICE_PHONE, page
from tests.paging.notify.test_voice import said
from tests.paging.test_escalation_engine import timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_then_sms(alice, alice_voice):
    """Alice's rules: a call at once, an SMS ten minutes later."""
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(minutes=10))


def sms_goes_out_now(webhooks) -> None:
    """Send Alice's SMS as a worker would once it is due; check it reached Twilio."""
    sms = Notification.objects.get(kind="sms")
    assert sms.due_at <= timezone.now()
    assert notification_deliver(sms.pk) == "sent"
    assert [m.to for m in webhooks.messages] == [ALICE_PHONE]


def test_page_calls_ask_twilio_who_answered(webhooks, payments, call_then_sms):
    page(payments)

    (call,) = webhooks.calls
    assert call.machine_detection == "DetectMessageEnd"


def test_call_answered_by_voicemail_sends_the_next_contact_method_at_once(
    webhooks, payments, call_then_sms
):
    incident = page(payments)
    (call,) = webhooks.calls

    status, twiml = webhooks.answer_by_machine(call, "machine_end_beep")

    assert status == 200
    assert said(twiml) == (
        f"This is the on-call service. A page is waiting for you: incident {incident.pk} "
        "on payments. Please check your messages. Goodbye."
    )
    assert "<Hangup" in twiml and "<Gather" not in twiml
    sms_goes_out_now(webhooks)
    voice = Notification.objects.get(kind="voice")
    assert (voice.status, voice.provider_status) == ("failed", "machine_end_beep")
    assert any(
        entry.startswith(
            "Voice call to Alice Adams answered by voicemail (machine_end_beep); "
            "SMS to Alice Adams goes out now instead of at"
        )
        for entry in timeline(incident)
    )


def test_voicemail_reported_by_the_status_callback_falls_over_once(
    webhooks, payments, call_then_sms
):
    incident = page(payments)
    (call,) = webhooks.calls
    webhooks.detect(call, "machine_start")

    webhooks.send_call_status(call, "in-progress")
    webhooks.answer_call(call)
    webhooks.send_call_status(call, "completed", duration=20)

    sms_goes_out_now(webhooks)
    entries = timeline(incident)
    assert sum("answered by voicemail (machine_start)" in e for e in entries) == 1
    assert not any(e.startswith("Voice call to Alice Adams completed") for e in entries)
    assert Notification.objects.get(kind="voice").status == "failed"


def test_fax_gets_no_words_and_the_next_contact_method_goes_out(webhooks, payments, call_then_sms):
    incident = page(payments)
    (call,) = webhooks.calls

    _, twiml = webhooks.answer_by_machine(call, "fax")

    assert said(twiml) == ""
    sms_goes_out_now(webhooks)
    assert any("answered by a fax machine (fax)" in e for e in timeline(incident))


def test_person_answering_can_still_acknowledge_with_key_4(webhooks, payments, call_then_sms):
    incident = page(payments)
    (call,) = webhooks.calls

    status, twiml = webhooks.answer_by_human(call)
    webhooks.send_call_status(call, "in-progress")
    _, pressed = webhooks.press(call, twiml, "4")

    assert status == 200
    assert said(pressed) == f"Acknowledged incident {incident.pk}, payments. Goodbye."
    assert Incident.objects.get().status == "acknowledged"
    assert Notification.objects.get(kind="sms").status == "cancelled"
    assert webhooks.messages == []


def test_detection_can_be_turned_off(webhooks, payments, call_then_sms, settings):
    settings.PAGING_VOICE_MACHINE_DETECTION = False
    page(payments)
    (call,) = webhooks.calls

    webhooks.detect(call, "machine_end_beep")  # not asked for: Twilio would not say
    webhooks.answer_call(call)

    assert call.machine_detection == ""
    assert Notification.objects.get(kind="voice").status == "sent"
    assert Notification.objects.get(kind="sms").due_at > timezone.now()
