"""Page calls: Twilio fetches our TwiML, the person presses a key, call outcomes fall over."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.utils import timezone

from paging.models import Incident, Notification, NotificationRule
from paging.notify.delivery import notification_deliver
from tests.paging.notify.conftest import ALICE_PHONE, BOB_PHONE, page
from tests.paging.test_escalation_engine import deactivate, run_due, timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls_alice(alice, alice_voice):
    """Alice's only rule: a call at once (her SMS stays unused)."""
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)


@pytest.fixture
def call_then_sms(alice, alice_voice):
    """Alice's rules: a call at once, an SMS ten minutes later."""
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(minutes=10))


def said(twiml: str) -> str:
    return " ".join(e.text or "" for e in ET.fromstring(twiml).iter("Say"))


def answered(webhooks, payments):
    """Page, let Twilio place the call and fetch its TwiML; return (incident, call, TwiML)."""
    incident = page(payments)
    (call,) = webhooks.calls
    status, twiml = webhooks.answer_call(call)
    assert status == 200
    return incident, call, twiml


def test_call_says_the_incident_and_gathers_one_key(webhooks, payments, calls_alice):
    incident, call, twiml = answered(webhooks, payments)

    assert (call.to, call.from_) == (ALICE_PHONE, "+15559990000")
    assert call.url.startswith("http://testserver/twilio/voice/")
    assert (
        call.status_callback == f"http://testserver/twilio/status/{Notification.objects.get().pk}/"
    )
    gather = ET.fromstring(twiml).find("Gather")
    assert gather.get("numDigits") == "1"
    assert said(twiml).startswith(
        f"This is an on-call page. Critical incident {incident.pk} on payments: Disk full on db1."
    )
    assert "Press 4 to acknowledge, 6 to resolve, 5 to escalate, or star" in said(twiml)
    assert webhooks.messages == []
    assert "Voice call placed to Alice Adams" in timeline(incident)


def test_call_speaks_a_summary_with_line_breaks_and_control_characters_as_one_line(
    webhooks, payments, calls_alice
):
    incident = page(payments, "Disk full\non db1\x07\r\nsee runbook")
    (call,) = webhooks.calls

    status, twiml = webhooks.answer_call(call)

    assert status == 200
    assert said(twiml).startswith(
        f"This is an on-call page. Critical incident {incident.pk} on payments: "
        "Disk full on db1 see runbook."
    )


def test_key_4_acknowledges_and_says_so(webhooks, payments, calls_alice, alice):
    incident, call, twiml = answered(webhooks, payments)

    status, answer = webhooks.press(call, twiml, "4")

    assert status == 200
    assert said(answer) == f"Acknowledged incident {incident.pk}, payments. Goodbye."
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    assert timeline(incident)[-1] == "Acknowledged by Alice Adams via phone call"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5), tick=False):
        assert run_due(incident) == []


def test_key_6_resolves(webhooks, payments, calls_alice):
    incident, call, twiml = answered(webhooks, payments)

    _, answer = webhooks.press(call, twiml, "6")

    assert said(answer) == f"Resolved incident {incident.pk}, payments. Goodbye."
    assert Incident.objects.get().status == "resolved"


def test_key_5_escalates_to_the_next_level(webhooks, payments, calls_alice):
    incident, call, twiml = answered(webhooks, payments)

    _, answer = webhooks.press(call, twiml, "5")
    run_due(incident)

    assert said(answer) == f"Escalated incident {incident.pk}, payments. Goodbye."
    assert [m.to for m in webhooks.messages] == [BOB_PHONE]


def test_star_repeats_and_other_keys_change_nothing(webhooks, payments, calls_alice):
    _, call, twiml = answered(webhooks, payments)

    _, again = webhooks.press(call, twiml, "*")
    _, wrong = webhooks.press(call, twiml, "1")

    assert said(again) == said(twiml)
    assert said(wrong).startswith("Sorry, that key does nothing. This is an on-call page.")
    assert Incident.objects.get().status == "triggered"


def test_key_on_an_already_acknowledged_incident_changes_nothing(webhooks, payments, calls_alice):
    incident, call, twiml = answered(webhooks, payments)
    webhooks.press(call, twiml, "4")

    _, answer = webhooks.press(call, twiml, "4")

    expected = f"Nothing changed: incident {incident.pk}, payments is acknowledged. Goodbye."
    assert said(answer) == expected


def test_no_key_repeats_the_page_then_says_goodbye(webhooks, payments, calls_alice):
    _, call, twiml = answered(webhooks, payments)

    _, second = webhooks.follow_redirect(call, twiml)
    _, third = webhooks.follow_redirect(call, second)

    assert said(second) == said(twiml)
    assert said(third).endswith("No key was pressed. Goodbye.")
    assert ET.fromstring(third).find("Redirect") is None


def test_forged_twiml_fetch_and_key_press_are_403(webhooks, payments, calls_alice):
    _, call, twiml = answered(webhooks, payments)

    assert webhooks.answer_call(call, valid_signature=False)[0] == 403
    assert webhooks.press(call, twiml, "4", valid_signature=False)[0] == 403
    assert Incident.objects.get().status == "triggered"


def test_guessed_call_url_changes_nothing(webhooks, payments, calls_alice):
    _, call, _ = answered(webhooks, payments)
    call.url = "http://testserver/twilio/voice/1/"
    guessed = '<Response><Gather action="/twilio/voice/1/gather/"/></Response>'

    status, fetched = webhooks.answer_call(call)
    _, pressed = webhooks.press(call, guessed, "4")

    assert status == 200
    assert said(fetched) == said(pressed) == "This page is no longer valid. Goodbye."
    assert Incident.objects.get().status == "triggered"


def test_completed_call_is_delivered_with_its_length(webhooks, payments, calls_alice):
    incident, call, _ = answered(webhooks, payments)

    webhooks.send_call_status(call, "in-progress")
    webhooks.send_call_status(call, "completed", duration=42)

    notification = Notification.objects.get()
    assert (notification.status, notification.provider_status) == ("delivered", "completed")
    assert timeline(incident)[-2:] == [
        "Voice call to Alice Adams answered",
        "Voice call to Alice Adams completed (42 s)",
    ]


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
def test_unanswered_call_sends_the_next_rule_at_once(webhooks, payments, call_then_sms, outcome):
    incident = page(payments)
    (call,) = webhooks.calls

    webhooks.send_call_status(call, outcome)

    sms = Notification.objects.get(kind="sms")
    assert sms.due_at <= timezone.now()
    assert notification_deliver(sms.pk) == "sent"
    assert [m.to for m in webhooks.messages] == [ALICE_PHONE]
    assert Notification.objects.get(kind="voice").status == "failed"
    assert timeline(incident)[-2].startswith(
        f"Voice call to Alice Adams {outcome}; SMS to Alice Adams goes out now instead of at"
    )


def test_unanswered_call_is_placed_again_when_settings_say_so(
    webhooks, payments, call_then_sms, settings
):
    settings.PAGING_VOICE_REDIALS = 1
    settings.PAGING_VOICE_REDIAL_SECONDS = 30
    incident = page(payments)
    first = webhooks.calls[0]

    webhooks.send_call_status(first, "no-answer")
    call = Notification.objects.get(kind="voice")
    assert (call.status, call.redials) == ("pending", 1)
    with time_machine.travel(call.due_at, tick=False):
        assert notification_deliver(call.pk) == "sent"
    second = webhooks.calls[1]
    webhooks.send_call_status(second, "no-answer")

    entries = timeline(incident)
    assert (
        sum(e.startswith("Voice call to Alice Adams no-answer; calling again at") for e in entries)
        == 1
    )
    assert any(e.startswith("Voice call to Alice Adams no-answer; SMS to Alice") for e in entries)
    assert Notification.objects.get(kind="sms").due_at <= timezone.now()
    assert first.sid != second.sid


def test_late_callback_of_the_first_call_changes_nothing(webhooks, payments, calls_alice):
    page(payments)
    (call,) = webhooks.calls
    webhooks.send_call_status(call, "completed", duration=5)

    webhooks.send_call_status(call, "no-answer")

    assert Notification.objects.get().status == "delivered"


def test_deactivated_persons_key_press_acts_on_nothing(webhooks, payments, calls_alice, alice):
    incident, call, twiml = answered(webhooks, payments)
    deactivate(alice)

    status, answer = webhooks.press(call, twiml, "6")

    assert status == 200
    assert said(answer) == "This page is no longer valid. Goodbye."
    incident.refresh_from_db()
    assert incident.status == "triggered"
