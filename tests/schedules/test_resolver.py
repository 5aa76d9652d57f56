"""Who is on call: the pure resolver."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedules.resolver import (
    CalendarEvent,
    LayerData,
    Restriction,
    ScheduleData,
    oncall_at,
    shifts,
)

NY = ZoneInfo("America/New_York")


def rotation(people, unit="weeks", count=1, start=dt.datetime(2026, 1, 5, 9, 0), level=1):
    return LayerData(
        level=level, rotation=tuple(people), shift_count=count, shift_unit=unit, handoff=start
    )


def at(zone, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def test_weekly_rotation_advances_through_people_in_order():
    schedule = ScheduleData("America/New_York", (rotation([1, 2, 3]),))

    weeks = [oncall_at(schedule, at(NY, 2026, 1, 5, 10) + dt.timedelta(weeks=w)) for w in range(4)]

    assert weeks == [(1,), (2,), (3,), (1,)]


def test_handoff_happens_at_the_local_time():
    schedule = ScheduleData("America/New_York", (rotation([1, 2]),))

    assert oncall_at(schedule, at(NY, 2026, 1, 12, 8, 59)) == (1,)
    assert oncall_at(schedule, at(NY, 2026, 1, 12, 9, 0)) == (2,)


@pytest.mark.parametrize(
    "layer",
    [
        rotation([1, 2], count=1_000_000),  # the second shift would start after year 9999
        rotation([1, 2], unit="days", start=dt.datetime(9999, 12, 31, 23, 0)),
        rotation([1, 2], unit="hours", count=10**9),
    ],
)
def test_a_handoff_past_the_calendars_end_never_comes(layer):
    schedule = ScheduleData("America/New_York", (layer,))
    start = at(NY, 2026, 12, 1)

    now = oncall_at(schedule, start)
    month = shifts(schedule, start, start + dt.timedelta(days=31))

    assert now in ((), (1,))
    assert [s.person for s in month] == list(now)


def test_nobody_is_on_call_before_the_first_handoff():
    schedule = ScheduleData("America/New_York", (rotation([1]),))

    assert oncall_at(schedule, at(NY, 2026, 1, 5, 8, 59)) == ()


@pytest.mark.parametrize(
    ("zone", "spring", "fall"),
    [
        ("America/New_York", dt.date(2026, 3, 8), dt.date(2026, 11, 1)),
        ("Europe/Berlin", dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), dt.date(2026, 4, 5)),  # 30-minute DST
    ],
)
def test_daily_handoff_stays_at_local_time_across_dst(zone, spring, fall):
    tz = ZoneInfo(zone)
    layer = rotation([1, 2], unit="days", start=dt.datetime(2026, 1, 1, 9, 0))
    schedule = ScheduleData(zone, (layer,))
    for day in (spring, fall):
        before = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8, 59), tzinfo=tz)
        after = before + dt.timedelta(minutes=1)
        assert oncall_at(schedule, before) != oncall_at(schedule, after), day


def test_hourly_rotation_follows_real_hours_across_spring_forward():
    # 8-hour shifts from 20:00 local on 7 March; clocks jump 02:00 -> 03:00 on 8 March.
    layer = rotation([1, 2], unit="hours", count=8, start=dt.datetime(2026, 3, 7, 20, 0))
    schedule = ScheduleData("America/New_York", (layer,))

    # The first shift is 8 real hours long, so it ends at 05:00 local (EDT), not 04:00.
    assert oncall_at(schedule, at(NY, 2026, 3, 8, 4, 59)) == (1,)
    assert oncall_at(schedule, at(NY, 2026, 3, 8, 5, 0)) == (2,)


def test_higher_layer_wins_where_it_has_someone():
    base = rotation([1], level=1)
    nights = rotation([9], unit="days", level=2, start=dt.datetime(2026, 2, 1, 0, 0))
    schedule = ScheduleData("America/New_York", (base, nights))

    assert oncall_at(schedule, at(NY, 2026, 1, 20, 12)) == (1,)
    assert oncall_at(schedule, at(NY, 2026, 2, 20, 12)) == (9,)


def test_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        oncall_at(ScheduleData("UTC", ()), dt.datetime(2026, 1, 1))


@given(
    minutes=st.integers(0, 60 * 24 * 365 * 2),
    people=st.integers(1, 7),
    count=st.integers(1, 3),
    unit=st.sampled_from(["hours", "days", "weeks"]),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]),
)
def test_rotation_moves_to_the_next_person_at_each_handoff(minutes, people, count, unit, zone):
    tz = ZoneInfo(zone)
    start = dt.datetime(2026, 1, 1, 9, 0)
    schedule = ScheduleData(zone, (rotation(range(people), unit=unit, count=count, start=start),))
    instant = start.replace(tzinfo=tz).astimezone(dt.UTC) + dt.timedelta(minutes=minutes)
    now = oncall_at(schedule, instant)[0]
    later = oncall_at(schedule, instant + dt.timedelta(minutes=1))[0]

    assert later in (now, (now + 1) % people)


def calendar(*events, level=1, restrictions=()):
    return LayerData(
        level=level,
        rotation=(),
        shift_count=1,
        shift_unit="days",
        handoff=dt.datetime(2026, 1, 1),
        restrictions=restrictions,
        name="Imported",
        events=tuple(CalendarEvent(p, s, e) for p, s, e in events),
    )


def test_imported_calendar_events_say_who_is_on_call_and_the_later_start_wins():
    utc = dt.UTC
    layer = calendar(
        (1, dt.datetime(2026, 1, 5, 9, tzinfo=utc), dt.datetime(2026, 1, 12, 9, tzinfo=utc)),
        (2, dt.datetime(2026, 1, 7, 0, tzinfo=utc), dt.datetime(2026, 1, 8, 0, tzinfo=utc)),
    )
    schedule = ScheduleData("UTC", (layer,))
    window = dt.datetime(2026, 1, 1, tzinfo=utc), dt.datetime(2026, 1, 20, tzinfo=utc)

    found = [(s.person, s.start.day, s.start.hour, s.end.day) for s in shifts(schedule, *window)]

    assert found == [(1, 5, 9, 7), (2, 7, 0, 8), (1, 8, 0, 12)]
    assert oncall_at(schedule, dt.datetime(2026, 1, 7, 12, tzinfo=utc)) == (2,)
    assert oncall_at(schedule, dt.datetime(2026, 1, 12, 9, tzinfo=utc)) == ()


def test_an_empty_imported_calendar_lets_a_lower_rotation_through():
    schedule = ScheduleData("America/New_York", (calendar(level=2), rotation([7])))

    assert oncall_at(schedule, at(NY, 2026, 2, 1, 12)) == (7,)


def test_restrictions_apply_to_imported_calendars_too():
    week = (3, at(NY, 2026, 1, 5, 0), at(NY, 2026, 1, 12, 0))
    office = Restriction("daily", dt.time(9), dt.time(17))
    schedule = ScheduleData("America/New_York", (calendar(week, restrictions=(office,)),))

    assert oncall_at(schedule, at(NY, 2026, 1, 6, 10)) == (3,)
    assert oncall_at(schedule, at(NY, 2026, 1, 6, 18)) == ()
