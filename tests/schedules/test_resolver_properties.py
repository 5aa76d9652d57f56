"""Properties of the resolver over generated schedules, in zones with unusual DST rules."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedules.resolver import (
    CalendarEvent,
    LayerData,
    OverrideData,
    Restriction,
    ScheduleData,
    oncall_at,
    shifts,
)

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",  # southern hemisphere: DST from October to April
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # southern, changes at midnight
    "Asia/Kolkata",  # half-hour offset, no DST
    "America/St_Johns",  # half-hour offset with DST
]
# Windows around the 2026 DST changes of those zones, so most examples cross one.
AROUND = [
    dt.datetime(2026, 3, 6),
    dt.datetime(2026, 3, 27),
    dt.datetime(2026, 4, 3),
    dt.datetime(2026, 9, 4),
    dt.datetime(2026, 10, 2),
    dt.datetime(2026, 10, 23),
    dt.datetime(2026, 10, 30),
]
PEOPLE = st.integers(min_value=1, max_value=6)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
restrictions = st.one_of(
    st.builds(Restriction, st.just("daily"), times, times),
    st.builds(Restriction, st.just("weekly"), times, times, st.integers(0, 6), st.integers(0, 6)),
)


@st.composite
def layers(draw, level: int) -> LayerData:
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    count = draw(st.integers(1, 12 if unit == "hours" else 3))
    handoff = draw(st.sampled_from(AROUND)) + dt.timedelta(
        days=draw(st.integers(-10, 3)),
        hours=draw(st.integers(0, 23)),
        minutes=draw(st.sampled_from([0, 30])),
    )
    return LayerData(
        level=level,
        rotation=tuple(draw(st.lists(PEOPLE, min_size=1, max_size=5))),
        shift_count=count,
        shift_unit=unit,
        handoff=handoff,
        restrictions=tuple(draw(st.lists(restrictions, max_size=2))),
        name=f"L{level}",
    )


@st.composite
def calendar_layers(draw, level: int) -> LayerData:
    """An imported calendar: events that may overlap, touch or leave gaps."""
    base = draw(st.sampled_from(AROUND)).replace(tzinfo=dt.UTC)
    events = []
    for _ in range(draw(st.integers(0, 8))):
        start = base + dt.timedelta(hours=draw(st.integers(-48, 24 * 14)))
        length = dt.timedelta(hours=draw(st.integers(1, 24 * 4)))
        events.append(CalendarEvent(draw(PEOPLE), start, start + length))
    return LayerData(
        level=level,
        rotation=(),
        shift_count=1,
        shift_unit="days",
        handoff=dt.datetime(2026, 1, 1),
        restrictions=tuple(draw(st.lists(restrictions, max_size=1))),
        name=f"C{level}",
        events=tuple(events),
    )


@st.composite
def schedules(draw):
    zone = draw(st.sampled_from(ZONES))
    levels = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True))
    base = draw(st.sampled_from(AROUND)).replace(tzinfo=dt.UTC)
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        start = base + dt.timedelta(hours=draw(st.integers(0, 24 * 14)))
        length = dt.timedelta(hours=draw(st.integers(1, 72)))
        replaces = draw(st.none() | PEOPLE)
        overrides.append(OverrideData(draw(PEOPLE), start, start + length, replaces))
    drawn = tuple(draw(st.one_of(layers(level), calendar_layers(level))) for level in levels)
    data = ScheduleData(zone, drawn, tuple(overrides))
    start = base + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 3)))
    return data, start, start + dt.timedelta(days=draw(st.integers(1, 21)))


@FUZZ
@given(schedules())
def test_shifts_never_overlap_and_agree_with_oncall_at_everywhere(case):
    schedule, start, end = case
    found = shifts(schedule, start, end)

    for shift in found:
        assert start <= shift.start < shift.end <= end
    for before, after in itertools.pairwise(found):
        assert before.end <= after.start  # one person at a time: no overlap at all
        assert not (before.end == after.start and before.person == after.person)  # joined
    for shift in found:
        assert oncall_at(schedule, shift.start) == (shift.person,)
        assert oncall_at(schedule, shift.end - dt.timedelta(microseconds=1)) == (shift.person,)
        middle = shift.start + (shift.end - shift.start) / 2
        assert oncall_at(schedule, middle) == (shift.person,)
    for before, after in itertools.pairwise(found):
        if before.end < after.start:
            assert oncall_at(schedule, before.end) == ()  # a gap is a gap


@FUZZ
@given(schedules())
def test_a_window_split_in_two_gives_the_same_timeline(case):
    schedule, start, end = case
    middle = start + (end - start) / 3

    whole = shifts(schedule, start, end)
    parts = shifts(schedule, start, middle) + shifts(schedule, middle, end)

    joined = []
    for shift in parts:
        if joined and joined[-1].person == shift.person and joined[-1].end == shift.start:
            joined[-1] = type(shift)(shift.person, joined[-1].start, shift.end, joined[-1].source)
        else:
            joined.append(shift)
    assert [(s.person, s.start, s.end) for s in joined] == [
        (s.person, s.start, s.end) for s in whole
    ]


@FUZZ
@given(
    zone=st.sampled_from(ZONES),
    people=st.lists(PEOPLE, min_size=2, max_size=6, unique=True),
    unit=st.sampled_from(["days", "weeks"]),
    handoff=st.sampled_from(AROUND),
    hour=st.integers(0, 23),
)
def test_rotation_advances_in_order_and_hands_off_at_the_same_local_time(
    zone, people, unit, handoff, hour
):
    first = handoff.replace(hour=hour)
    layer = LayerData(1, tuple(people), 1, unit, first)
    schedule = ScheduleData(zone, (layer,))
    start = first.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)

    found = shifts(schedule, start, start + dt.timedelta(days=70))

    assert [s.person for s in found] == [people[i % len(people)] for i in range(len(found))]
    tz = ZoneInfo(zone)
    handoffs = {s.start.astimezone(tz).time() for s in found[1:]}
    # A handoff time that does not exist on a spring-forward day moves forward by the gap.
    assert len(handoffs - {first.time()}) <= 1
