"""Durations and local date-times as the file writes them (durations: oncall/durations.py)."""

import datetime as dt
from zoneinfo import ZoneInfo

DURATION_HELP = 'must be a duration such as "30s", "5m", "1h30m", "1d" or "1w"'


def format_clock(value: dt.time | dt.datetime) -> str:
    """Write a time of day as HH:MM, with seconds only when there are some."""
    return f"{value:%H:%M:%S}" if value.second else f"{value:%H:%M}"


def format_local(value: dt.datetime) -> str:
    """Write a naive local date-time as `2026-01-05T09:00`."""
    return f"{value:%Y-%m-%d}T{format_clock(value)}"


def to_local_text(instant: dt.datetime, zone: str) -> str:
    """Write an instant in `zone`'s local time; with its offset only where that is ambiguous."""
    local = instant.astimezone(ZoneInfo(zone))
    naive = local.replace(tzinfo=None)
    if from_local(naive, zone) == instant:
        return format_local(naive)
    return format_local(naive) + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def from_local(naive: dt.datetime, zone: str) -> dt.datetime | None:
    """Return the instant a local time names in `zone` (the first of two), None in a DST gap."""
    tz = ZoneInfo(zone)
    instant = naive.replace(tzinfo=tz).astimezone(dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None  # skipped when the clocks went forward
    return instant


def to_utc_text(instant: dt.datetime) -> str:
    """Write an instant in UTC: `2026-12-24T18:00Z`."""
    return format_local(instant.astimezone(dt.UTC).replace(tzinfo=None)) + "Z"
