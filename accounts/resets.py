"""Limits on password-reset e-mails: per address asked for, and per client asking.

Counters are fixed windows kept in the database and locked while read and updated, so every web
process shares them on SQLite and PostgreSQL alike (the embedded default has no shared cache).
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.db import transaction

from accounts.models import ResetCount
from oncall.limits import Limited, window_words

Rates = tuple[tuple[int, dt.timedelta], ...]


def _address_key(email: str) -> str:
    return "address:" + hashlib.sha256(email.casefold().encode()).hexdigest()


def _counters(
    key: str, rates: Rates, now: dt.datetime
) -> list[tuple[ResetCount, int, dt.timedelta]]:
    """Return each rate's counter for `key`, locked, its window restarted if it has passed."""
    counters = []
    for count, window in rates:
        name = f"{key}:{int(window.total_seconds())}"
        ResetCount.objects.get_or_create(key=name, defaults={"started_at": now})
        row = ResetCount.objects.select_for_update().get(key=name)
        if now >= row.started_at + window:
            row.started_at, row.count = now, 0
        counters.append((row, count, window))
    return counters


def _full(counters) -> tuple[int, dt.timedelta, dt.datetime] | None:
    for row, count, window in counters:
        if row.count >= count:
            return count, window, row.started_at + window
    return None


def _count(counters) -> None:
    for row, _, _ in counters:
        row.count += 1
        row.save()


def _prune(now: dt.datetime) -> None:
    rates = settings.PASSWORD_RESET_PER_ADDRESS + settings.PASSWORD_RESET_PER_CLIENT
    longest = max((window for _, window in rates), default=dt.timedelta(0))
    ResetCount.objects.filter(started_at__lt=now - longest).delete()


@transaction.atomic
def reset_mail_take(*, email: str, client: str | None, now: dt.datetime) -> bool:
    """Count one reset e-mail asked for `email` by `client`; return False if the address is full.

    Raise Limited when the client itself has asked too often. A full address is not an error:
    the caller sends nothing and answers as usual, so no one learns whether it has an account.
    """
    _prune(now)
    by_client = _counters(f"client:{client or 'unknown'}", settings.PASSWORD_RESET_PER_CLIENT, now)
    if found := _full(by_client):
        count, window, until = found
        message = f"at most {count} password e-mails in {window_words(window)} from one address"
        raise Limited(message, what="client", until=until)
    _count(by_client)
    by_address = _counters(_address_key(email), settings.PASSWORD_RESET_PER_ADDRESS, now)
    if _full(by_address):
        return False
    _count(by_address)
    return True
