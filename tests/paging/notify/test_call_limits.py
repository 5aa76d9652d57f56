"""Calls to one number are limited as SMS are: a least gap between two, and a most per hour.
A call held back goes out when it may, and the timeline says why it waited."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from paging.models import Notification, NotificationRule
from paging.notify.delivery import notification_deliver
from tests.factories import ServiceFactory
from tests.paging.notify.conftest import ALICE_PHONE, page
from tests.paging.test_escalation_engine import timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls_only(alice, alice_voice):
    """A service paging Alice, whose only rule is a call."""
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)
    return ServiceFactory(name="payments", escalation_policy__levels=[[alice]])


def held_call(incident) -> Notification:
    return Notification.objects.get(incident=incident, kind="voice")


def test_second_call_within_the_interval_waits_and_goes_out_once(webhooks, calls_only, settings):
    settings.PAGING_VOICE_MIN_INTERVAL_SECONDS = 30
    page(calls_only, "first")

    second = page(calls_only, "second")

    assert len(webhooks.calls) == 1
    held = held_call(second)
    assert held.status == "pending"
    assert dt.timedelta(seconds=29) < held.due_at - timezone.now() <= dt.timedelta(seconds=30)
    with time_machine.travel(held.due_at, tick=False):
        assert notification_deliver(held.pk) == "sent"
        assert notification_deliver(held.pk) == "skipped"
    assert [c.to for c in webhooks.calls] == [ALICE_PHONE, ALICE_PHONE]


def test_hourly_call_cap_holds_calls_back_and_says_so(webhooks, calls_only, settings):
    settings.PAGING_VOICE_MIN_INTERVAL_SECONDS = 0
    settings.PAGING_VOICE_MAX_PER_HOUR = 2
    page(calls_only, "one")
    page(calls_only, "two")

    third = page(calls_only, "three")

    assert len(webhooks.calls) == 2
    held = held_call(third)
    assert held.due_at - timezone.now() > dt.timedelta(minutes=50)
    assert "at most 2 calls an hour to one number" in timeline(third)[-1]
    with time_machine.travel(held.due_at, tick=False):
        assert notification_deliver(held.pk) == "sent"
    assert len(webhooks.calls) == 3


def test_a_long_gap_between_calls_is_on_the_timeline(webhooks, calls_only, settings):
    settings.PAGING_VOICE_MIN_INTERVAL_SECONDS = 300
    page(calls_only, "first")

    second = page(calls_only, "second")

    assert len(webhooks.calls) == 1
    assert "at least 5 minutes between two calls to one number" in timeline(second)[-1]


def test_call_and_sms_limits_are_apart(webhooks, alice, alice_voice, settings):
    settings.PAGING_VOICE_MIN_INTERVAL_SECONDS = 60
    settings.PAGING_SMS_MIN_INTERVAL_SECONDS = 60
    service = ServiceFactory(name="payments", escalation_policy__levels=[[alice]])

    page(service)  # Alice's default rules: an SMS and a call at once, to the same number

    assert [m.to for m in webhooks.messages] == [ALICE_PHONE]
    assert [c.to for c in webhooks.calls] == [ALICE_PHONE]
