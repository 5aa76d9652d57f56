"""The on-call resolver: a year of final shifts for a busy schedule, and single lookups.

Three layers of ten people (daily, weekly, and 12-hour shifts), business-hours restrictions on
one of them, and 200 overrides, in a zone with DST; pure Python, no database.
"""

import datetime as dt
import random
import statistics
import time

from schedules.resolver import (
    CalendarEvent,
    LayerData,
    OverrideData,
    Restriction,
    ScheduleData,
    oncall_at,
    shifts,
)

RUNS = 7


def busy_schedule() -> ScheduleData:
    rng = random.Random(7)
    people = list(range(1, 31))
    business = Restriction("daily", dt.time(9), dt.time(17))
    layers = (
        LayerData(
            3, tuple(people[0:10]), 1, "days", dt.datetime(2026, 1, 1, 9), (business,), "Day"
        ),
        LayerData(2, tuple(people[10:20]), 1, "weeks", dt.datetime(2026, 1, 5, 10), (), "Week"),
        LayerData(1, tuple(people[20:30]), 12, "hours", dt.datetime(2026, 1, 1, 8), (), "Sun"),
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    overrides = []
    for _ in range(200):
        begins = start + dt.timedelta(hours=rng.randrange(24 * 365))
        length = dt.timedelta(hours=rng.randrange(1, 48))
        replaces = rng.choice([None, *people])
        overrides.append(OverrideData(rng.choice(people), begins, begins + length, replaces))
    return ScheduleData("Europe/Berlin", layers, tuple(overrides))


def with_imported_calendar(schedule: ScheduleData) -> ScheduleData:
    """Add, on top, an imported calendar of a year of nightly events (18:00 to 02:00 UTC)."""
    start = dt.datetime(2026, 1, 1, 18, tzinfo=dt.UTC)
    events = tuple(
        CalendarEvent(
            31 + day % 5, start + dt.timedelta(days=day), start + dt.timedelta(days=day, hours=8)
        )
        for day in range(365)
    )
    nights = LayerData(4, (), 1, "days", dt.datetime(2026, 1, 1), (), "Imported", events)
    return ScheduleData(schedule.time_zone, (nights, *schedule.layers), schedule.overrides)


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def run() -> list[dict]:
    schedule = busy_schedule()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=365)
    year = [_timed(lambda: shifts(schedule, start, end)) for _ in range(RUNS)]
    count = len(shifts(schedule, start, end))
    instants = [start + dt.timedelta(minutes=17 * n) for n in range(1000)]
    lookups = _timed(lambda: [oncall_at(schedule, i) for i in instants]) / len(instants)
    imported = with_imported_calendar(schedule)
    with_calendar = [_timed(lambda: shifts(imported, start, end)) for _ in range(RUNS)]
    ms = 1000
    return [
        {
            "name": "a year of shifts (3 layers, 200 overrides), median",
            "value": statistics.median(year) * ms,
            "unit": "ms",
        },
        {"name": "a year of shifts, worst of runs", "value": max(year) * ms, "unit": "ms"},
        {
            "name": "the same with an imported calendar layer (365 events) on top, median",
            "value": statistics.median(with_calendar) * ms,
            "unit": "ms",
        },
        {"name": "shifts in that year", "value": count, "unit": "shifts"},
        {"name": "who is on call at one instant", "value": lookups * 1e6, "unit": "µs"},
    ]
