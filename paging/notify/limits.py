"""Carrier-safe limits per phone number: SMS we send and replies we take.

Counters live in one row per number, locked while read and updated, so every web process and
worker shares them (the embedded default has no Redis). Fixed windows are coarse but cheap.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction

from paging.models import PhoneLimit

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def _locked(phone: str) -> PhoneLimit:
    PhoneLimit.objects.get_or_create(phone=phone)
    return PhoneLimit.objects.select_for_update().get(phone=phone)


@transaction.atomic
def sms_slot_take(*, phone: str, now: dt.datetime) -> dt.datetime | None:
    """Take the right to text `phone` now; if it is not free, return when it will be."""
    limit = _locked(phone)
    gap = dt.timedelta(seconds=settings.PAGING_SMS_MIN_INTERVAL_SECONDS)
    if limit.last_sms_at is not None and now < limit.last_sms_at + gap:
        return limit.last_sms_at + gap
    if limit.hour_started_at is None or now >= limit.hour_started_at + HOUR:
        limit.hour_started_at, limit.hour_sms = now, 0
    if limit.hour_sms >= settings.PAGING_SMS_MAX_PER_HOUR:
        return limit.hour_started_at + HOUR
    limit.last_sms_at = now
    limit.hour_sms += 1
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
