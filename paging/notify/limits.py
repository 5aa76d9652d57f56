"""Limits on what we send and take: carrier-safe ones per phone number (SMS we send, calls we
place, replies we take), and ones on verification codes, which anyone adding a number could
otherwise aim at it.

Counters live in the database, locked while read and updated, so every web process and worker
shares them (the embedded default has no Redis). The per-number ones are fixed windows, coarse
but cheap; verification sends are counted one row each, over sliding windows.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from accounts.models import User
from oncall.limits import Limited, window_words
from paging.models import ContactKind, ContactMethod, PhoneLimit, VerificationSend

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def _locked(phone: str) -> PhoneLimit:
    PhoneLimit.objects.get_or_create(phone=phone)
    return PhoneLimit.objects.select_for_update().get(phone=phone)


@dataclass(frozen=True)
class PhoneRate:
    """Which PhoneLimit fields count one kind of send, its limits, and what they are called."""

    last: str
    hour_started: str
    hour_count: str
    interval_setting: str
    hourly_setting: str
    noun: str


PHONE_RATES = {
    ContactKind.SMS: PhoneRate(
        "last_sms_at",
        "hour_started_at",
        "hour_sms",
        "PAGING_SMS_MIN_INTERVAL_SECONDS",
        "PAGING_SMS_MAX_PER_HOUR",
        "SMS",
    ),
    ContactKind.VOICE: PhoneRate(
        "last_call_at",
        "call_hour_started_at",
        "hour_calls",
        "PAGING_VOICE_MIN_INTERVAL_SECONDS",
        "PAGING_VOICE_MAX_PER_HOUR",
        "calls",
    ),
}


@dataclass(frozen=True)
class Hold:
    """A send to a number that must wait: until when, and the limit that holds it (in words)."""

    until: dt.datetime
    why: str


def _gap_hold(limit: PhoneLimit, rate: PhoneRate, now: dt.datetime) -> Hold | None:
    gap = dt.timedelta(seconds=getattr(settings, rate.interval_setting))
    last = getattr(limit, rate.last)
    if last is None or now >= last + gap:
        return None
    return Hold(last + gap, f"at least {window_words(gap)} between two {rate.noun} to one number")


def _hourly_hold(limit: PhoneLimit, rate: PhoneRate, now: dt.datetime) -> Hold | None:
    started = getattr(limit, rate.hour_started)
    if started is None or now >= started + HOUR:
        setattr(limit, rate.hour_started, now)
        setattr(limit, rate.hour_count, 0)
        return None
    hourly = getattr(settings, rate.hourly_setting)
    if getattr(limit, rate.hour_count) < hourly:
        return None
    return Hold(started + HOUR, f"at most {hourly} {rate.noun} an hour to one number")


@transaction.atomic
def phone_slot_take(*, kind: str, phone: str, now: dt.datetime) -> Hold | None:
    """Take the right to text or call `phone` now; if it is not free, say until when and why."""
    rate = PHONE_RATES[kind]
    limit = _locked(phone)
    hold = _gap_hold(limit, rate, now) or _hourly_hold(limit, rate, now)
    if hold is not None:
        return hold
    setattr(limit, rate.last, now)
    setattr(limit, rate.hour_count, getattr(limit, rate.hour_count) + 1)
    limit.save()
    return None


@transaction.atomic
def reply_take(*, phone: str, now: dt.datetime) -> bool:
    """Count one SMS reply from `phone`; return False once it is over its per-minute limit."""
    limit = _locked(phone)
    if limit.replies_started_at is None or now >= limit.replies_started_at + MINUTE:
        limit.replies_started_at, limit.replies = now, 0
    limit.replies += 1
    limit.save()
    return limit.replies <= settings.PAGING_SMS_REPLIES_PER_MINUTE


Rates = tuple[tuple[int, dt.timedelta], ...]


def _over(sends, rates: Rates, now: dt.datetime) -> tuple[int, dt.timedelta, dt.datetime] | None:
    """Return the first (count, window, free again at) of `rates` that `sends` already fill."""
    for count, window in rates:
        recent = sends.filter(sent_at__gt=now - window).order_by("-sent_at")
        times = list(recent.values_list("sent_at", flat=True)[:count])
        if len(times) == count:
            return count, window, times[-1] + window  # free once the count-th latest ages out
    return None


def _refuse(found: tuple[int, dt.timedelta, dt.datetime], *, what: str, whom: str) -> Limited:
    count, window, until = found
    message = (
        f"at most {count} verification codes in {window_words(window)} to {whom}; "
        f"try again after {until:%H:%M:%S} UTC"
    )
    return Limited(message, what=what, until=until)


@transaction.atomic
def verification_send_take(*, method: ContactMethod, now: dt.datetime) -> None:
    """Count one verification code to `method`, or raise Limited if its number or person is full.

    The person's row and every method with this address are locked first, so concurrent
    requests (through any face, for any person) are counted one after the other.
    """
    User.objects.select_for_update().filter(pk=method.user_id).first()
    list(ContactMethod.objects.select_for_update().filter(address=method.address).order_by("pk"))
    by_number = VerificationSend.objects.filter(address=method.address)
    by_person = VerificationSend.objects.filter(user_id=method.user_id)
    checks = [
        ("contact_method", method.address, by_number, settings.PAGING_VERIFY_SENDS_PER_METHOD),
        ("person", str(method.user), by_person, settings.PAGING_VERIFY_SENDS_PER_PERSON),
    ]
    for what, whom, counted, rates in checks:
        if found := _over(counted, rates, now):
            raise _refuse(found, what=what, whom=whom)
    VerificationSend.objects.create(user_id=method.user_id, address=method.address, sent_at=now)


def verification_sends_prune(*, now: dt.datetime) -> int:
    """Forget verification sends older than every window; return how many."""
    rates = settings.PAGING_VERIFY_SENDS_PER_METHOD + settings.PAGING_VERIFY_SENDS_PER_PERSON
    longest = max((window for _, window in rates), default=dt.timedelta(0))
    return VerificationSend.objects.filter(sent_at__lt=now - longest).delete()[0]
