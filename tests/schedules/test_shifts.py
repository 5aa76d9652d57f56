"""The final timeline: restrictions, layers, overrides, and joined shifts."""

import datetime as dt
from zoneinfo import ZoneInfo

from schedules.resolver import (
    LayerData,
    OverrideData,
    Restriction,
    ScheduleData,
    Shift,
    oncall_at,
    shifts,
)

BERLIN = ZoneInfo("Europe/Berlin")
ALICE, BOB, CAROL, DAN = 1, 2, 3, 4


def at(*args, zone=BERLIN) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def layer(people, *, level=1, unit="days", count=1, start=dt.datetime(2026, 3, 2, 9), **kw):
    return LayerData(level, tuple(people), count, unit, start, **kw)


def who(found: list[Shift]) -> list[tuple[int, dt.datetime, dt.datetime, str]]:
    return [
        (s.person, s.start.astimezone(BERLIN), s.end.astimezone(BERLIN), s.source) for s in found
    ]


def test_daily_window_limits_a_layer_and_a_lower_layer_fills_the_gaps():
    business = Restriction("daily", dt.time(9), dt.time(17))
    day = layer([ALICE], level=2, name="Day", restrictions=(business,))
    night = layer([BOB], level=1, name="Follow the sun")
    schedule = ScheduleData("Europe/Berlin", (day, night))

    found = shifts(schedule, at(2026, 3, 3, 0), at(2026, 3, 4, 0))

    assert who(found) == [
        (BOB, at(2026, 3, 3, 0), at(2026, 3, 3, 9), "Follow the sun"),
        (ALICE, at(2026, 3, 3, 9), at(2026, 3, 3, 17), "Day"),
        (BOB, at(2026, 3, 3, 17), at(2026, 3, 4, 0), "Follow the sun"),
    ]


def test_overnight_daily_window_wraps_midnight():
    nights = Restriction("daily", dt.time(22), dt.time(6))
    schedule = ScheduleData("Europe/Berlin", (layer([ALICE], restrictions=(nights,)),))

    assert oncall_at(schedule, at(2026, 3, 3, 23)) == (ALICE,)
    assert oncall_at(schedule, at(2026, 3, 4, 5, 59)) == (ALICE,)
    assert oncall_at(schedule, at(2026, 3, 4, 6)) == ()
    assert oncall_at(schedule, at(2026, 3, 4, 12)) == ()


def test_weekly_window_friday_evening_to_monday_morning():
    weekend = Restriction("weekly", dt.time(18), dt.time(9), start_day=4, end_day=0)
    schedule = ScheduleData("Europe/Berlin", (layer([ALICE], restrictions=(weekend,)),))

    found = shifts(schedule, at(2026, 3, 2, 0), at(2026, 3, 16, 0))

    assert who(found) == [
        (ALICE, at(2026, 3, 6, 18), at(2026, 3, 9, 9), "Rotation"),
        (ALICE, at(2026, 3, 13, 18), at(2026, 3, 16, 0), "Rotation"),
    ]


def test_whole_schedule_override_wins_over_every_layer():
    schedule = ScheduleData(
        "Europe/Berlin",
        (layer([ALICE], level=2), layer([BOB])),
        overrides=(OverrideData(CAROL, at(2026, 3, 3, 12), at(2026, 3, 3, 14)),),
    )

    found = shifts(schedule, at(2026, 3, 3, 10), at(2026, 3, 3, 16))

    assert [(s.person, s.source) for s in found] == [
        (ALICE, "Rotation"),
        (CAROL, "override"),
        (ALICE, "Rotation"),
    ]


def test_override_replacing_one_person_applies_only_to_their_shifts():
    rotation = layer([ALICE, BOB])  # daily from 2 Mar 9:00: Alice, Bob, Alice, Bob
    swap = OverrideData(DAN, at(2026, 3, 3, 0), at(2026, 3, 6, 0), replaces=BOB)
    schedule = ScheduleData("Europe/Berlin", (rotation,), overrides=(swap,))

    found = shifts(schedule, at(2026, 3, 3, 12), at(2026, 3, 5, 12))

    assert who(found) == [
        (DAN, at(2026, 3, 3, 12), at(2026, 3, 4, 9), "override"),
        (ALICE, at(2026, 3, 4, 9), at(2026, 3, 5, 9), "Rotation"),
        (DAN, at(2026, 3, 5, 9), at(2026, 3, 5, 12), "override"),
    ]


def test_later_override_wins_where_overrides_overlap():
    first = OverrideData(CAROL, at(2026, 3, 3, 10), at(2026, 3, 3, 20))
    second = OverrideData(DAN, at(2026, 3, 3, 12), at(2026, 3, 3, 14))
    schedule = ScheduleData("Europe/Berlin", (layer([ALICE]),), overrides=(first, second))

    assert oncall_at(schedule, at(2026, 3, 3, 11)) == (CAROL,)
    assert oncall_at(schedule, at(2026, 3, 3, 13)) == (DAN,)
    assert oncall_at(schedule, at(2026, 3, 3, 15)) == (CAROL,)


def test_override_with_nobody_underneath_still_covers():
    schedule = ScheduleData(
        "Europe/Berlin", (), overrides=(OverrideData(CAROL, at(2026, 3, 3), at(2026, 3, 4)),)
    )

    assert shifts(schedule, at(2026, 3, 2), at(2026, 3, 5)) == [
        Shift(
            CAROL, at(2026, 3, 3).astimezone(dt.UTC), at(2026, 3, 4).astimezone(dt.UTC), "override"
        )
    ]


def test_adjacent_shifts_of_one_person_are_joined():
    schedule = ScheduleData("Europe/Berlin", (layer([ALICE, ALICE, BOB]),))

    found = shifts(schedule, at(2026, 3, 2, 9), at(2026, 3, 5, 9))

    assert who(found) == [
        (ALICE, at(2026, 3, 2, 9), at(2026, 3, 4, 9), "Rotation"),
        (BOB, at(2026, 3, 4, 9), at(2026, 3, 5, 9), "Rotation"),
    ]


def test_hourly_rotation_follows_real_hours_across_spring_forward():
    hourly = layer([ALICE, BOB], unit="hours", count=12, start=dt.datetime(2026, 3, 28, 20))
    schedule = ScheduleData("Europe/Berlin", (hourly,))

    found = shifts(schedule, at(2026, 3, 28, 20), at(2026, 3, 30, 0))

    # 29 March has 23 hours in Berlin: a 12-hour shift from 08:00 local ends at 21:00 local.
    assert [(s.person, s.start.astimezone(BERLIN).hour) for s in found] == [
        (ALICE, 20),
        (BOB, 9),
        (ALICE, 21),
    ]
