"""The worst calendar an import meets: a 171-byte rule that repeats every minute, forever.

Uncapped it expanded to 677,306 occurrences (47 s, 1.6 GiB); now the expansion stops past
CALENDAR_IMPORT_MAX_EVENTS. Times parse + expansion (the refresh's CPU work; no database) and
its peak traced memory, for the rule starting just before the window and a week before now.
"""

import datetime as dt
import time
import tracemalloc
from zoneinfo import ZoneInfo

from django.conf import settings

from schedules import imports

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def minutely(start: dt.datetime) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        "DURATION:PT1M",
        "RRULE:FREQ=MINUTELY",
        "UID:m@x",
        "SUMMARY:alice",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _refresh_work(body: bytes) -> str:
    """Parse and expand as a refresh does; return the outcome (the cap's error, or a count)."""
    deadline = time.monotonic() + settings.CALENDAR_IMPORT_MAX_SECONDS
    window = NOW - imports.BACK, NOW + imports.AHEAD
    try:
        found = imports.occurrences(
            imports.parse(body), ZoneInfo("UTC"), *window, deadline=deadline
        )
    except imports.CalendarImportError as exc:
        return str(exc)
    return f"{len(found)} events"


def _measure(body: bytes) -> tuple[float, float, str]:
    tracemalloc.start()
    started = time.perf_counter()
    outcome = _refresh_work(body)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20, outcome


def run() -> list[dict]:
    figures = []
    for label, start in (
        ("starting at the window's start", NOW - imports.BACK),
        ("starting a week ago", NOW - dt.timedelta(days=7)),
    ):
        seconds, mib, outcome = _measure(minutely(start))
        print(f"  MINUTELY rule {label}: {outcome}")
        figures += [
            {"name": f"MINUTELY rule {label}: refresh time", "value": seconds * 1000, "unit": "ms"},
            {"name": f"MINUTELY rule {label}: peak memory", "value": mib, "unit": "MiB"},
        ]
    cap = settings.CALENDAR_IMPORT_MAX_EVENTS
    figures.append({"name": "cap (CALENDAR_IMPORT_MAX_EVENTS)", "value": cap, "unit": "events"})
    return figures
