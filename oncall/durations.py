"""Durations as people write them (`30s`, `5m`, `1h30m`, `2d`, `1w`): one parser for every path.

Admin forms, the REST API, configuration as code and settings all read durations here, so a
duration that works in one place works in all. What each path accepted before still reads: a
bare number (seconds, or the caller's unit), a clock (`00:05:00`, `1 02:00:00`) and ISO 8601
(`PT5M`).
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.dateparse import parse_duration as parse_clock

UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
WRITTEN = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
BARE = re.compile(r"^\d+(?:\.\d+)?$")
DURATION_HINT = "Give a duration like 30s, 5m, 1h30m or 2d"


def parse_duration(raw: object, *, bare_unit: int = 1) -> dt.timedelta | None:
    """Return the duration `raw` writes, or None if it writes none (or a negative one).

    A bare number counts `bare_unit` seconds each: a level's timeout in admin was in minutes.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    try:
        if BARE.match(text):
            return dt.timedelta(seconds=float(Decimal(text) * bare_unit))
        found = _written(text)
        return found if found is not None else _clock(text)
    except (OverflowError, InvalidOperation):  # too large for a timedelta
        return None


def _written(text: str) -> dt.timedelta | None:
    match = WRITTEN.match(text)
    if match is None:
        return None
    seconds = sum(int(n) * s for n, s in zip(match.groups(), UNITS.values(), strict=True) if n)
    return dt.timedelta(seconds=seconds)


def _clock(text: str) -> dt.timedelta | None:
    found = parse_clock(text)
    return found if found is not None and found >= dt.timedelta(0) else None


def format_duration(value: dt.timedelta) -> str:
    """Write a duration in the largest units that fit: 90 minutes is `1h30m`."""
    left, parts = int(value.total_seconds()), []
    for unit, seconds in UNITS.items():
        count, left = divmod(left, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


class DurationFormField(forms.DurationField):
    """A form field that reads and shows durations as `1h30m`, its errors naming the field."""

    def __init__(self, *, bare_unit: int = 1, **kwargs) -> None:
        self.bare_unit = bare_unit
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_duration(value) if isinstance(value, dt.timedelta) else value

    def to_python(self, value) -> dt.timedelta | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.timedelta):
            return value
        found = parse_duration(value, bare_unit=self.bare_unit)
        if found is None:
            raise forms.ValidationError(f"{self.label or 'Duration'}: {DURATION_HINT}.")
        return found
