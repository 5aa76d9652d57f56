"""Read values out of a loaded configuration file, recording where each problem is."""

import datetime as dt
import re
from collections.abc import Callable

from django.core.exceptions import ValidationError

from config.durations import DURATION_HELP
from oncall.apibase import closest
from oncall.durations import parse_duration
from oncall.timezones import from_local, parse_instant, validate_time_zone
from paging.models import INTEGRATION_KEY, KEY_MAX, KEY_MIN
from schedules.models import ShiftUnit

CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
SHIFT = re.compile(r"^(\d+)([hdw])$")
SHIFT_UNITS = {"h": ShiftUnit.HOURS, "d": ShiftUnit.DAYS, "w": ShiftUnit.WEEKS}


# A policy's level in a path; the file counts from 0, people say Level 1.
LEVEL_IN_PATH = re.compile(r"\.tiers\[(\d+)\]")


class ConfigError(Exception):
    """Problems in a configuration, each with its place: `services[2].escalation_policy`."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("\n".join(f"{place(path)}: {message}" for path, message in problems))
        self.problems = problems


def place(path: str) -> str:
    """Return `path` as a problem names it: led by "Level N: " when it is inside a level."""
    level = LEVEL_IN_PATH.search(path)
    return f"Level {int(level[1]) + 1}: {path}" if level else path


class Bad(Exception):
    """A value is wrong; the message says why (the caller knows where)."""


MISSING = object()


class Reader:
    """Collect every problem in a file rather than stopping at the first."""

    def __init__(self, names: dict[str, set[str]]) -> None:
        self.problems: list[tuple[str, str]] = []
        self.names = names  # what references may name: users, teams, schedules, policies

    def refer(self, path: str, value: str | None, kind: str, what: str) -> str | None:
        """Return `value` if something of `kind` has that name; else record the problem."""
        if value is not None and value not in self.names[kind]:
            match = closest(value, self.names[kind])
            hint = f'; did you mean "{match}"?' if match else ""
            self.fail(path, f'no {what} named "{value}"{hint}')
        return value

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def mapping(self, value: object, path: str, allowed: tuple[str, ...]) -> dict | None:
        if not isinstance(value, dict):
            self.fail(path or "file", "must be a mapping of keys to values")
            return None
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, unknown_key(key, allowed))
        return value

    def items(self, obj: dict, key: str, path: str) -> list[tuple[str, object]]:
        """Return `obj[key]` (a list, may be absent) as (path, item) pairs."""
        value = obj.get(key) or []
        where = f"{path}.{key}" if path else key
        if not isinstance(value, list):
            self.fail(where, "must be a list")
            return []
        return [(f"{where}[{n}]", item) for n, item in enumerate(value)]

    def value(self, value: object, path: str, convert: Callable):
        """Return `value` converted, or None (recorded) if it is wrong."""
        try:
            return convert(value)
        except Bad as bad:
            self.fail(path, str(bad))
            return None

    def take(self, obj: dict, key: str, path: str, convert: Callable, default=MISSING):
        """Return `obj[key]` converted, the default if absent, None (recorded) if wrong."""
        if key not in obj or obj[key] is None:
            if default is MISSING:
                self.fail(f"{path}.{key}", "is required")
                return None
            return default
        return self.value(obj[key], f"{path}.{key}", convert)


def unknown_key(key: object, allowed: tuple[str, ...]) -> str:
    """Say a key is unknown, suggesting the allowed one it is likely a misspelling of."""
    match = closest(str(key), allowed)
    hint = f'did you mean "{match}"? ' if match else ""
    return f"unknown key; {hint}expected one of {', '.join(allowed)}"


def text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Bad("must be a string")
    return str(value)


def name(value: object) -> str:
    value = text(value).strip()
    if not value:
        raise Bad("must not be blank")
    return value


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad("must be true or false")
    return value


def integer(low: int, high: int) -> Callable[[object], int]:
    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Bad(f"must be a whole number from {low} to {high}")
        return value

    return convert


def choice(values: list[str]) -> Callable[[object], str]:
    def convert(value: object) -> str:
        if value not in values:
            raise Bad(f"must be one of {', '.join(values)}")
        return value

    return convert


def duration(value: object) -> dt.timedelta:
    found = parse_duration(value)
    if found is None:
        raise Bad(DURATION_HELP)
    return found


def time_zone(value: object) -> str:
    try:
        validate_time_zone(text(value))
    except ValidationError as error:
        raise Bad(error.messages[0]) from None
    return value


def clock(value: object) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool):
        raise Bad('must be a time such as "09:00" in quotes (YAML reads 9:00 as a number)')
    match = CLOCK.match(text(value))
    try:
        return dt.time(*(int(n) for n in match.groups() if n is not None))
    except (AttributeError, ValueError):
        raise Bad('must be a time such as "09:00"') from None


def local(zone: str) -> Callable[[object], dt.datetime]:
    """Convert a local date-time in `zone` (or one with an offset) to an aware instant."""

    def convert(value: object) -> dt.datetime:
        raw = value.isoformat() if isinstance(value, dt.datetime) else text(value)
        instant = parse_instant(raw)
        if instant is not None:
            return instant
        naive = naive_local(raw)
        found = from_local(naive, zone)
        if found is None:
            raise Bad(f"{raw} does not exist in {zone} (the clocks skip it)")
        return found

    return convert


def naive_local(raw: str) -> dt.datetime:
    try:
        found = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Bad('must be a date-time such as "2026-01-05T09:00"') from None
    if found.tzinfo is not None:
        raise Bad('must be a date-time such as "2026-01-05T09:00"')
    return found


def instant(value: object) -> dt.datetime:
    raw = value.isoformat() if isinstance(value, dt.datetime) else text(value)
    found = parse_instant(raw)
    if found is None:
        raise Bad('must be a date-time with a UTC offset, such as "2026-12-24T18:00Z"')
    return found


def shift(value: object) -> tuple[int, str]:
    match = SHIFT.match(text(value))
    if match is None or not 1 <= int(match[1]) <= 32767:
        raise Bad('must be a number of hours, days or weeks, such as "12h", "1d" or "1w"')
    return int(match[1]), SHIFT_UNITS[match[2]]


def integration_key(value: object) -> str:
    if not INTEGRATION_KEY.fullmatch(text(value)):
        raise Bad(f"must be {KEY_MIN} to {KEY_MAX} letters, digits, '.', '_', '~' or '-'")
    return value
