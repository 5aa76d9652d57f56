"""Twilio took the page but its answer never reached us: ask Twilio before sending it again."""

import pytest
from django.utils import timezone

from paging.engine import incident_escalate
from paging.models import Notification, NotificationRule
from paging.notify.delivery import notification_deliver
from tests.conftest import TWILIO_FROM
from tests.paging.notify.conftest import ALICE_PHONE, page
from tests.paging.notify.test_delivery import retry_until_done
from tests.paging.test_escalation_engine import timeline, trigger

pytestmark = pytest.mark.django_db

NOT_AGAIN = "was already sent before a worker stopped or lost the answer; not sent again"


@pytest.fixture
def short_timeout(settings):
    settings.TWILIO_TIMEOUT_SECONDS = 1


@pytest.fixture
def calls_alice(alice, alice_voice):
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)


def test_sms_twilio_took_but_never_answered_is_not_sent_again(webhooks, payments, short_timeout):
    webhooks.fail_next(hang=True, accept=True)

    incident = page(payments)
    notification = Notification.objects.get()
    assert "Twilio unreachable: ReadTimeout" in notification.error

    assert retry_until_done(notification) == ["sent"]
    (sms,) = webhooks.messages
    assert sms.to == ALICE_PHONE
    notification.refresh_from_db()
    assert (notification.status, notification.provider_id, notification.error) == (
        "sent",
        sms.sid,
        "",
    )
    assert f"SMS to Alice Adams {NOT_AGAIN}" in timeline(incident)
    ((kind, query),) = webhooks.lists
    assert (kind, query["To"], query["From"]) == ("Messages", ALICE_PHONE, TWILIO_FROM)


def test_call_twilio_placed_but_never_answered_is_not_placed_again(
    webhooks, payments, calls_alice, short_timeout
):
    webhooks.fail_next(hang=True, accept=True)

    incident = page(payments)
    notification = Notification.objects.get()

    assert retry_until_done(notification) == ["sent"]
    (call,) = webhooks.calls
    notification.refresh_from_db()
    assert (notification.status, notification.provider_id) == ("sent", call.sid)
    assert f"Voice call to Alice Adams {NOT_AGAIN}" in timeline(incident)
    # Its status callbacks now find it: the call completes on the incident's timeline.
    webhooks.send_call_status(call, "completed", duration=20)
    assert "Voice call to Alice Adams completed (20 s)" in timeline(incident)


def test_connection_dropped_after_twilio_took_it_is_not_sent_again(webhooks, payments):
    webhooks.fail_next(accept=True)  # no hang: Twilio hangs up at once, without an answer

    page(payments)
    notification = Notification.objects.get()

    assert retry_until_done(notification) == ["sent"]
    (sms,) = webhooks.messages
    notification.refresh_from_db()
    assert notification.provider_id == sms.sid


def test_request_that_never_reached_twilio_is_sent_on_retry(webhooks, payments, short_timeout):
    webhooks.fail_next(hang=True)  # Twilio records nothing

    incident = page(payments)
    notification = Notification.objects.get()

    assert retry_until_done(notification) == ["sent"]
    (sms,) = webhooks.messages
    notification.refresh_from_db()
    assert (notification.status, notification.provider_id) == ("sent", sms.sid)
    assert "SMS sent to Alice Adams" in timeline(incident)
    assert not any(NOT_AGAIN in line for line in timeline(incident))


def test_lookup_failing_sends_again_and_says_so(webhooks, payments, short_timeout):
    webhooks.fail_next(hang=True, accept=True)
    webhooks.fail_next(status=500, message="Internal Server Error", lists=True)

    incident = page(payments)
    notification = Notification.objects.get()

    assert retry_until_done(notification) == ["sent"]
    first, second = webhooks.messages  # a duplicate is better than a lost page
    assert first.body == second.body
    notification.refresh_from_db()
    assert notification.provider_id == second.sid
    assert (
        "Could not ask whether SMS to Alice Adams went out before "
        "(Twilio answered 500 to a list); sending it again"
    ) in timeline(incident)


def test_an_earlier_page_with_the_same_text_is_not_mistaken_for_the_lost_one(
    webhooks, payments, short_timeout, settings
):
    settings.PAGING_SMS_MIN_INTERVAL_SECONDS = 0
    incident = page(payments)
    first = Notification.objects.get()
    (sent,) = webhooks.messages
    # Level 1 again (the policy repeats): the same text to the same number, Twilio never answers.
    repeat = Notification.objects.create(
        incident=incident,
        user=first.user,
        tier=first.tier,
        loop=1,
        rule_key=first.rule_key,
        kind=first.kind,
        address=first.address,
        body=first.body,
        due_at=timezone.now(),
    )
    webhooks.fail_next(hang=True)
    assert retry_until_done(repeat) == ["failed", "sent"]

    assert len(webhooks.lists) == 1
    earlier, again = webhooks.messages
    repeat.refresh_from_db()
    assert (earlier.sid, repeat.provider_id) == (sent.sid, again.sid)


def test_first_attempt_asks_twilio_nothing(webhooks, payments, calls_alice):
    page(payments)

    assert len(webhooks.calls) == 1
    assert webhooks.lists == []


@pytest.fixture
def two_pages_for_alice(webhooks, payments, short_timeout):
    """Two incidents page Alice at once; Twilio takes the bundled SMS and never answers."""
    webhooks.fail_next(hang=True, accept=True)
    incidents = [trigger(payments, summary) for summary in ("Disk full", "API down")]
    for pk in [pk for incident in incidents for pk in incident_escalate(incident.pk)]:
        notification_deliver(pk)
    return list(Notification.objects.order_by("id"))


def test_bundle_twilio_took_but_never_answered_is_not_sent_again(webhooks, two_pages_for_alice):
    for notification in two_pages_for_alice:
        retry_until_done(notification)

    (sms,) = webhooks.messages
    assert sms.body.startswith("2 incidents: ")
    assert len(webhooks.lists) == 1  # one question for the whole bundle
    for notification in two_pages_for_alice:
        notification.refresh_from_db()
        assert (notification.status, notification.provider_id) == ("sent", sms.sid)
        assert f"SMS to Alice Adams {NOT_AGAIN}" in timeline(notification.incident)


def test_page_of_a_bundle_asked_alone_finds_the_sms_its_bundle_mate_recorded(
    webhooks, two_pages_for_alice
):
    first, second = two_pages_for_alice
    # Another worker has just claimed the first page when this one retries the second.
    Notification.objects.filter(pk=first.pk).update(status="sending")
    assert retry_until_done(second) == ["sent"]
    Notification.objects.filter(pk=first.pk).update(status="pending")

    assert retry_until_done(first) == ["sent"]

    (sms,) = webhooks.messages
    for notification in two_pages_for_alice:
        notification.refresh_from_db()
        assert (notification.status, notification.provider_id) == ("sent", sms.sid)
        assert f"SMS to Alice Adams {NOT_AGAIN}" in timeline(notification.incident)


def test_bundle_lookup_failing_sends_it_again_once_for_both(webhooks, two_pages_for_alice):
    webhooks.fail_next(status=500, message="Internal Server Error", lists=True)

    for notification in two_pages_for_alice:
        retry_until_done(notification)

    first, second = webhooks.messages  # a duplicate is better than a lost page
    assert first.body.startswith("2 incidents: ") and second.body.startswith("2 incidents: ")
    for notification in two_pages_for_alice:
        notification.refresh_from_db()
        assert (notification.status, notification.provider_id) == ("sent", second.sid)
        assert (
            "Could not ask whether SMS to Alice Adams went out before "
            "(Twilio answered 500 to a list); sending it again"
        ) in timeline(notification.incident)


def test_bundle_that_never_reached_twilio_goes_out_once_for_both_on_retry(
    webhooks, payments, short_timeout
):
    webhooks.fail_next(hang=True)  # Twilio records nothing
    incidents = [trigger(payments, summary) for summary in ("Disk full", "API down")]
    for pk in [pk for incident in incidents for pk in incident_escalate(incident.pk)]:
        notification_deliver(pk)

    first, second = Notification.objects.order_by("id")
    assert retry_until_done(first) == ["sent"]
    assert retry_until_done(second) == []

    (sms,) = webhooks.messages
    assert sms.body.startswith("2 incidents: ")
    for notification in (first, second):
        notification.refresh_from_db()
        assert (notification.status, notification.provider_id) == ("sent", sms.sid)
        assert "SMS sent to Alice Adams (one SMS for 2 incidents)" in timeline(
            notification.incident
        )
