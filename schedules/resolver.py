"""Who is on call: pure functions of a schedule's data and an instant or a window.

No queries and no clock reads: callers pass `Schedule.snapshot()` and aware instants.

- A layer is a rotation: participants in order, shifts of N hours, days or weeks from a first
  handoff (a naive local date-time in the schedule's zone). Daily and weekly handoffs stay at the
  same local wall-clock time across DST changes; hourly ones follow real elapsed hours.
- Restrictions (daily or weekly local windows) limit when a layer has anyone on call.
- Where layers overlap the highest level that has someone wins ("final schedule").
- A layer can be an imported calendar instead of a rotation: its events (already expanded and
  mapped to people) say who is on call; where its events overlap, the one that began last wins.
- Overrides win over every layer: a person covers a span for the whole schedule, or only where a
  named person would be on call. Among overlapping overrides the later one in the list wins.

`oncall_at` and `shifts` share one definition of every boundary (handoffs, restriction windows),
so the timeline `shifts` returns agrees with `oncall_at` at every instant.
"""

import bisect
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

_UNIT_DAYS = {"days": 1, "weeks": 7}
OVERRIDE = "override"


@dataclass(frozen=True)
class Restriction:
    """A local window a layer is limited to: daily (every day) or weekly (Mon=0 … Sun=6).

    A window whose end is not after its start wraps past midnight (daily) or the week's end
    (weekly); equal start and end mean the whole day or week.
    """

    kind: str  # "daily" or "weekly"
    start: dt.time
    end: dt.time
    start_day: int = 0
    end_day: int = 0


@dataclass(frozen=True)
class CalendarEvent:
    """One occurrence of an imported calendar's event: `person` is on call in [start, end)."""

    person: int
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class LayerData:
    """A rotation: participants in order, a shift length, and the first handoff (local, naive).

    With `events` set the layer is an imported calendar instead: the events say who is on call
    and the rotation fields are ignored.
    """

    level: int
    rotation: tuple[int, ...]
    shift_count: int
    shift_unit: str
    handoff: dt.datetime
    restrictions: tuple[Restriction, ...] = ()
    name: str = "Rotation"
    events: tuple[CalendarEvent, ...] | None = None


@dataclass(frozen=True)
class OverrideData:
    """`person` covers [start, end): everyone, or only where `replaces` would be on call."""

    person: int
    start: dt.datetime
    end: dt.datetime
    replaces: int | None = None


@dataclass(frozen=True)
class ScheduleData:
    time_zone: str
    layers: tuple[LayerData, ...]
    overrides: tuple[OverrideData, ...] = ()


@dataclass(frozen=True)
class Shift:
    """A span of the final timeline: who, from when, until when, and from which layer."""

    person: int
    start: dt.datetime
    end: dt.datetime
    source: str


# --- Rotations ----------------------------------------------------------------------------------


def _aware(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return the UTC instant of a naive local time (a time skipped by DST maps forward)."""
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


# A handoff past the calendar's end never comes. Models refuse such layers; this keeps rows
# saved before they did from failing every lookup that touches their schedule.
_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def _boundary(layer: LayerData, zone: ZoneInfo, k: int) -> dt.datetime:
    """Return the instant at which shift number `k` of the layer starts."""
    try:
        if layer.shift_unit == "hours":
            return _aware(layer.handoff, zone) + dt.timedelta(hours=k * layer.shift_count)
        days = _UNIT_DAYS[layer.shift_unit] * layer.shift_count * k
        return _aware(layer.handoff + dt.timedelta(days=days), zone)
    except OverflowError:
        return _NEVER


def _period(layer: LayerData) -> dt.timedelta:
    if layer.shift_unit == "hours":
        return dt.timedelta(hours=layer.shift_count)
    return dt.timedelta(days=_UNIT_DAYS[layer.shift_unit] * layer.shift_count)


def shift_index(layer: LayerData, zone: ZoneInfo, instant: dt.datetime) -> int | None:
    """Return the number of the shift running at `instant`, or None before the first handoff."""
    if instant < _boundary(layer, zone, 0):
        return None
    wall = instant.astimezone(zone).replace(tzinfo=None)
    k = max(0, (wall - layer.handoff) // _period(layer))
    # The wall-clock estimate can be one off around a DST change; settle it on real instants.
    while _boundary(layer, zone, k + 1) <= instant:
        k += 1
    while k > 0 and _boundary(layer, zone, k) > instant:
        k -= 1
    return k


def _rotation_spans(
    layer: LayerData, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime, int]]:
    """Yield (from, until, person) for the layer's shifts overlapping [start, end)."""
    if not layer.rotation:
        return
    k = shift_index(layer, zone, start)
    if k is None:
        k = 0
    begins = _boundary(layer, zone, k)
    while begins < end:
        ends = _boundary(layer, zone, k + 1)
        if ends > start:
            yield max(begins, start), min(ends, end), layer.rotation[k % len(layer.rotation)]
        k, begins = k + 1, ends


# --- Imported calendars ------------------------------------------------------------------------


def _calendar_spans(
    layer: LayerData, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime, int]]:
    """Yield (from, until, person) of an imported calendar within [start, end), in order.

    Where events overlap, the one that began last wins (on equal starts, the later listed).
    """
    found = [
        (max(e.start, start), min(e.end, end), (e.start, n), e.person)
        for n, e in enumerate(layer.events or ())
        if e.start < end and e.end > start and e.start < e.end
    ]
    cuts = sorted({t for begins, ends, _, _ in found for t in (begins, ends)})
    pending = sorted(found)
    active: list[tuple] = []
    for begins, ends in itertools.pairwise(cuts):
        while pending and pending[0][0] <= begins:
            active.append(pending.pop(0))
        active = [item for item in active if item[1] > begins]
        if active:
            yield begins, ends, max(active, key=lambda item: item[2])[3]


def _calendar_person(layer: LayerData, instant: dt.datetime) -> int | None:
    """Return who the imported calendar puts on call at `instant` (same rule as above)."""
    covering = [
        ((e.start, n), e.person)
        for n, e in enumerate(layer.events or ())
        if e.start <= instant < e.end
    ]
    return max(covering)[1] if covering else None


# --- Restrictions -------------------------------------------------------------------------------


def _window(restriction: Restriction, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """Return the naive local window that opens on `day`, or None if none opens then."""
    if restriction.kind == "daily":
        opens = dt.datetime.combine(day, restriction.start)
        closes = dt.datetime.combine(day, restriction.end)
        return opens, closes if closes > opens else closes + dt.timedelta(days=1)
    if day.weekday() != restriction.start_day:
        return None
    opens = dt.datetime.combine(day, restriction.start)
    ahead = (restriction.end_day - restriction.start_day) % 7
    closes = dt.datetime.combine(day + dt.timedelta(days=ahead), restriction.end)
    return opens, closes if closes > opens else closes + dt.timedelta(days=7)


def _restriction_spans(
    layer: LayerData, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Return the sorted, merged instants of [start, end) within any of the layer's windows."""
    first = start.astimezone(zone).date() - dt.timedelta(days=8)
    last = end.astimezone(zone).date() + dt.timedelta(days=1)
    spans = []
    day = first
    while day <= last:
        for restriction in layer.restrictions:
            window = _window(restriction, day)
            if window is not None:
                opens, closes = _aware(window[0], zone), _aware(window[1], zone)
                if opens < end and closes > start and closes > opens:
                    spans.append((max(opens, start), min(closes, end)))
        day += dt.timedelta(days=1)
    return _merged(sorted(spans))


def _merged(spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for begins, ends in spans:
        if out and begins <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], ends))
        else:
            out.append((begins, ends))
    return out


def _clipped(rotation, windows):
    """Intersect sorted rotation spans with sorted windows (both non-overlapping)."""
    i = 0
    for begins, ends, person in rotation:
        while i < len(windows) and windows[i][1] <= begins:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < ends:
            lo, hi = max(begins, windows[j][0]), min(ends, windows[j][1])
            if lo < hi:
                yield lo, hi, person
            j += 1


def layer_spans(
    layer: LayerData, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """Return the layer's own (from, until, person) spans within [start, end), in order."""
    if layer.events is not None:
        rotation = _calendar_spans(layer, start, end)
    else:
        rotation = _rotation_spans(layer, zone, start, end)
    if not layer.restrictions:
        return list(rotation)
    return list(_clipped(rotation, _restriction_spans(layer, zone, start, end)))


# --- The final timeline -------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check(*instants: dt.datetime) -> None:
    if any(i.tzinfo is None for i in instants):
        raise ValueError("instants must be timezone-aware")


def _layered(schedule: ScheduleData, start: dt.datetime, end: dt.datetime):
    """Yield (from, until, person, layer name) of the layers' merged timeline in [start, end)."""
    zone = _zone(schedule.time_zone)
    layers = sorted(schedule.layers, key=lambda la: -la.level)
    spans = [layer_spans(la, zone, start, end) for la in layers]
    cuts = sorted({start, end, *(t for s in spans for b, e, _ in s for t in (b, e))})
    cursor = [0] * len(spans)
    for begins, ends in itertools.pairwise(cuts):
        for n, own in enumerate(spans):
            while cursor[n] < len(own) and own[cursor[n]][1] <= begins:
                cursor[n] += 1
            if cursor[n] < len(own) and own[cursor[n]][0] <= begins:
                yield begins, ends, own[cursor[n]][2], layers[n].name
                break


def _override_winner(active: list[OverrideData], person: int | None) -> OverrideData | None:
    """Return the override that decides who is on call, given the layers' `person`."""
    for override in reversed(active):
        if override.replaces is None or override.replaces == person:
            return override
    return None


def _final(schedule: ScheduleData, start: dt.datetime, end: dt.datetime):
    """Yield (from, until, person, source) pieces of the final timeline, overrides applied."""
    overrides = [
        (n, o)
        for n, o in enumerate(schedule.overrides)
        if o.start < end and o.end > start and o.start < o.end
    ]
    layered = list(_layered(schedule, start, end))
    cuts = {start, end, *(t for _, o in overrides for t in (o.start, o.end) if start < t < end)}
    cuts.update(t for b, e, _, _ in layered for t in (b, e))
    ordered = sorted(cuts)
    pending = sorted(overrides, key=lambda item: item[1].start)
    active: list[tuple[int, OverrideData]] = []
    piece = 0
    for begins, ends in itertools.pairwise(ordered):
        while pending and pending[0][1].start <= begins:
            bisect.insort(active, pending.pop(0))  # kept in list order: later wins
        active = [item for item in active if item[1].end > begins]
        while piece < len(layered) and layered[piece][1] <= begins:
            piece += 1
        base = layered[piece] if piece < len(layered) and layered[piece][0] <= begins else None
        person, source = (base[2], base[3]) if base else (None, "")
        winner = _override_winner([o for _, o in active], person)
        if winner is not None:
            person, source = winner.person, OVERRIDE
        if person is not None:
            yield begins, ends, person, source


def shifts(schedule: ScheduleData, start: dt.datetime, end: dt.datetime) -> list[Shift]:
    """Return the final timeline within [start, end), adjacent spans of one person joined."""
    _check(start, end)
    out: list[Shift] = []
    for begins, ends, person, source in _final(schedule, start, end):
        if out and out[-1].person == person and out[-1].end == begins:
            out[-1] = Shift(person, out[-1].start, ends, out[-1].source)
        else:
            out.append(Shift(person, begins, ends, source))
    return out


def _layer_person(layer: LayerData, zone: ZoneInfo, instant: dt.datetime) -> int | None:
    """Return who the layer alone puts on call at `instant` (restrictions applied)."""
    if layer.events is not None:
        person = _calendar_person(layer, instant)
    else:
        k = shift_index(layer, zone, instant) if layer.rotation else None
        person = None if k is None else layer.rotation[k % len(layer.rotation)]
    if person is None or (layer.restrictions and not _within(layer, zone, instant)):
        return None
    return person


def _within(layer: LayerData, zone: ZoneInfo, instant: dt.datetime) -> bool:
    """Return whether `instant` falls in one of the layer's restriction windows."""
    today = instant.astimezone(zone).date()
    for back in range(-1, 9):
        for restriction in layer.restrictions:
            window = _window(restriction, today - dt.timedelta(days=back))
            if window and _aware(window[0], zone) <= instant < _aware(window[1], zone):
                return True
    return False


def oncall_at(schedule: ScheduleData, instant: dt.datetime) -> tuple[int, ...]:
    """Return the people on call at `instant` (one person, or nobody).

    Computed directly rather than through `shifts`, so that each checks the other in tests.
    """
    _check(instant)
    zone = _zone(schedule.time_zone)
    person = None
    for layer in sorted(schedule.layers, key=lambda la: -la.level):
        person = _layer_person(layer, zone, instant)
        if person is not None:
            break
    active = [o for o in schedule.overrides if o.start <= instant < o.end]
    winner = _override_winner(active, person)
    if winner is not None:
        person = winner.person
    return () if person is None else (person,)


def replaced(
    before: ScheduleData, after: ScheduleData, start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[dt.datetime, dt.datetime]]:
    """Return who is on call in `before` but not in `after` somewhere in [start, end).

    Each person maps to the span from the first to the last instant they lost, e.g. the part
    of their shift an override takes.
    """
    old, new = shifts(before, start, end), shifts(after, start, end)
    cuts = sorted({start, end, *(t for s in (*old, *new) for t in (s.start, s.end))})
    lost: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for begins, ends in itertools.pairwise(cuts):
        was = _person_in(old, begins)
        if was is not None and was != _person_in(new, begins):
            lost[was] = (lost.get(was, (begins, ends))[0], ends)
    return lost


def _person_in(found: list[Shift], instant: dt.datetime) -> int | None:
    return next((s.person for s in found if s.start <= instant < s.end), None)
