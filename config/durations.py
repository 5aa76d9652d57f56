"""Durations and local date-times as the file writes them (durations: oncall/durations.py)."""

import datetime as dt
from zoneinfo import ZoneInfo

from oncall.timezones import from_local

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


def to_utc_text(instant: dt.datetime) -> str:
    """Write an instant in UTC: `2026-12-24T18:00Z`."""
    return format_local(instant.astimezone(dt.UTC).replace(tzinfo=None)) + "Z"
