"""Time zones and instants: IANA zone validation, and parsing ISO 8601 instants from input."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

INSTANT_HELP = "must be an ISO 8601 date-time with a UTC offset"


def validate_time_zone(name: str) -> None:
    """Reject anything that is not an IANA time-zone name, such as `Europe/Berlin`."""
    if name not in available_timezones():
        raise ValidationError(f"{name!r} is not an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed but missing from tzdata
        raise ValidationError(f"{name!r} has no time-zone data on this server") from None


def parse_instant(raw: str | None) -> dt.datetime | None:
    """Return the aware instant `raw` names, or None if it is not one (naive times included)."""
    try:
        when = parse_datetime(raw or "")
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None
