"""Time zones and instants: IANA zone validation, and parsing ISO 8601 instants from input."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.dateparse import parse_datetime

# Instants far from now are refused: a schedule's shifts past year 9999 cannot be computed.
MIN_INSTANT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
MAX_INSTANT = dt.datetime(3000, 1, 1, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
# Configured durations (timeouts, delays, windows, intervals) are at most a year: the engine adds
# them to now, and a larger one would put due times past year 9999 and fail every alert.
at_most_a_year = MaxValueValidator(dt.timedelta(days=366), "Use at most 366 days.")
INSTANT_HELP = "must be an ISO 8601 date-time with a UTC offset, between the years 1900 and 2999"


def validate_time_zone(name: str) -> None:
    """Reject anything that is not an IANA time-zone name, such as `Europe/Berlin`."""
    if name not in available_timezones():
        raise ValidationError(f"{name!r} is not an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed but missing from tzdata
        raise ValidationError(f"{name!r} has no time-zone data on this server") from None


def parse_instant(raw: str | None) -> dt.datetime | None:
    """Return the aware instant `raw` names, or None if it is not one or out of range."""
    try:
        when = parse_datetime(raw or "")
    except ValueError:
        return None
    if when is None or when.tzinfo is None:
        return None
    try:
        return when if MIN_INSTANT <= when <= MAX_INSTANT else None
    except OverflowError:  # an offset that pushes a date past year 1 or 9999
        return None


def local_time(when: dt.datetime, zone_name: str) -> str:
    """Return `when` as local date and time in the named zone, with the zone's abbreviation."""
    return when.astimezone(ZoneInfo(zone_name)).strftime("%Y-%m-%d %H:%M %Z")


def from_local(naive: dt.datetime, zone: str) -> dt.datetime | None:
    """Return the instant a local time names in `zone` (the first of two), None in a DST gap."""
    tz = ZoneInfo(zone)
    instant = naive.replace(tzinfo=tz).astimezone(dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None  # skipped when the clocks went forward
    return instant
