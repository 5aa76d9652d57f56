"""Durations (`30s`, `5m`, `1h30m`, `1d`, `1w`) and local date-times as the file writes them."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DURATION_HELP = 'must be a duration such as "30s", "5m", "1h30m", "1d" or "1w"'


def parse_duration(raw: object) -> dt.timedelta | None:
    """Return the duration `raw` writes (a whole number is seconds), or None if it is none."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return dt.timedelta(seconds=raw)
    match = DURATION.match(raw.strip()) if isinstance(raw, str) else None
    if match is None or not raw.strip():
        return None
    seconds = sum(int(n) * s for n, s in zip(match.groups(), UNITS.values(), strict=True) if n)
    return dt.timedelta(seconds=seconds)


def format_duration(value: dt.timedelta) -> str:
    """Write a duration in the largest units that fit: 90 minutes is `1h30m`."""
    left, parts = int(value.total_seconds()), []
    for unit, seconds in UNITS.items():
        count, left = divmod(left, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


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
