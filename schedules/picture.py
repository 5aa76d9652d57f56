"""The schedule picture: who is on call in each layer and in the end, as bars by percentage.

A pure function of the resolver's output (no queries, no clock): the admin pages draw what
`schedule_picture` returns as inline SVG, so that under our Content-Security-Policy nothing
needs an inline style attribute.
"""

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from schedules.resolver import OVERRIDE, ScheduleData, Shift, layer_spans, shifts

PICTURE_DAYS = 14
FINAL_ROW = "Who is paged"
# Consecutive ids a golden angle apart on the colour wheel look clearly different.
GOLDEN_ANGLE = 137.508


@dataclass(frozen=True)
class Bar:
    """A span drawn from `left` % for `width` %: a shift, an override or a gap (nobody)."""

    left: float
    width: float
    name: str
    colour: str
    kind: str  # "shift", "override" or "gap"
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    bars: tuple[Bar, ...]
    final: bool = False


@dataclass(frozen=True)
class Day:
    left: float
    width: float
    label: str


@dataclass(frozen=True)
class LegendEntry:
    name: str
    colour: str


@dataclass(frozen=True)
class Picture:
    zone: str
    days: tuple[Day, ...]
    rows: tuple[Row, ...]
    legend: tuple[LegendEntry, ...]
    now: float
    on_call_now: str  # "" when nobody is


def person_colour(person: int) -> str:
    """Return the colour that stands for `person` on every picture."""
    return f"hsl({person * GOLDEN_ANGLE % 360:.0f} 70% 72%)"


def local_label(instant: dt.datetime, zone: ZoneInfo) -> str:
    """Return `instant` as "Thu 3 Dec 18:00 CET" in `zone`."""
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


class _Scale:
    """Turn instants into percentages of the window [start, end)."""

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        self.start = start.astimezone(dt.UTC)
        self.length = end.astimezone(dt.UTC) - self.start

    def at(self, instant: dt.datetime) -> float:
        return (instant.astimezone(dt.UTC) - self.start) / self.length * 100

    def span(self, begins: dt.datetime, ends: dt.datetime) -> tuple[float, float]:
        left = self.at(begins)
        return left, self.at(ends) - left


def _window(zone: ZoneInfo, now: dt.datetime, days: int) -> list[dt.datetime]:
    """Return the local midnights from `now`'s day, `days` + 1 of them, as aware instants."""
    today = now.astimezone(zone).date()
    return [
        dt.datetime.combine(today + dt.timedelta(days=n), dt.time(), tzinfo=zone)
        for n in range(days + 1)
    ]


def _bar(scale, zone, begins, ends, person, names, kind) -> Bar:
    name = names.get(person, f"user {person}") if person is not None else ""
    times = f"{local_label(begins, zone)} to {local_label(ends, zone)}"
    title = f"{name or 'Nobody'}{' (override)' if kind == 'override' else ''}: {times}"
    colour = person_colour(person) if person is not None else "none"
    return Bar(*scale.span(begins, ends), name=name, colour=colour, kind=kind, title=title)


def _gaps(found: list[Shift], start: dt.datetime, end: dt.datetime):
    """Yield the (from, until) spans within [start, end) that no shift covers."""
    cursor = start
    for shift in found:
        if shift.start > cursor:
            yield cursor, shift.start
        cursor = max(cursor, shift.end)
    if cursor < end:
        yield cursor, end


def _final_row(schedule, scale, zone, start, end, names) -> Row:
    found = shifts(schedule, start, end)
    bars = [_bar(scale, zone, s.start, s.end, s.person, names, _kind(s.source)) for s in found] + [
        _bar(scale, zone, b, e, None, names, "gap") for b, e in _gaps(found, start, end)
    ]
    return Row(FINAL_ROW, tuple(sorted(bars, key=lambda bar: bar.left)), final=True)


def _kind(source: str) -> str:
    return "override" if source == OVERRIDE else "shift"


def schedule_picture(
    schedule: ScheduleData, now: dt.datetime, names: dict[int, str], days: int = PICTURE_DAYS
) -> Picture:
    """Return the picture of `days` local days from `now`'s: one row per layer, then the final."""
    zone = ZoneInfo(schedule.time_zone)
    midnights = _window(zone, now, days)
    start, end = midnights[0], midnights[-1]
    scale = _Scale(start, end)
    layers = sorted(schedule.layers, key=lambda la: -la.level)
    rows = [
        Row(
            layer.name,
            tuple(
                _bar(scale, zone, b, e, person, names, "shift")
                for b, e, person in layer_spans(layer, zone, start, end)
            ),
        )
        for layer in layers
    ]
    rows.append(_final_row(schedule, scale, zone, start, end, names))
    day_list = tuple(
        Day(*scale.span(b, e), label=f"{b:%a} {b.day}") for b, e in itertools.pairwise(midnights)
    )
    people = {bar.name: bar.colour for row in rows for bar in row.bars if bar.name}
    legend = tuple(LegendEntry(n, c) for n, c in sorted(people.items()))
    here = scale.at(now)
    current = [b.name for b in rows[-1].bars if b.left <= here < b.left + b.width]
    return Picture(schedule.time_zone, day_list, tuple(rows), legend, here, "".join(current[:1]))
