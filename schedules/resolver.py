"""Who is on call: a pure function of a schedule's data and an instant.

No queries and no clock reads: callers pass `Schedule.snapshot()` and the instant. Daily and
weekly rotations hand off at the same local wall-clock time across DST changes; hourly rotations
follow real elapsed hours.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_UNIT_DAYS = {"days": 1, "weeks": 7}


@dataclass(frozen=True)
class LayerData:
    """A rotation: participants in order, a shift length, and the first handoff (local, naive)."""

    level: int
    rotation: tuple[int, ...]
    shift_count: int
    shift_unit: str
    handoff: dt.datetime


@dataclass(frozen=True)
class ScheduleData:
    time_zone: str
    layers: tuple[LayerData, ...]


def _boundary(layer: LayerData, zone: ZoneInfo, k: int) -> dt.datetime:
    """Return the aware instant at which shift number `k` of the layer starts."""
    if layer.shift_unit == "hours":
        start = layer.handoff.replace(tzinfo=zone).astimezone(dt.UTC)
        return start + dt.timedelta(hours=k * layer.shift_count)
    days = _UNIT_DAYS[layer.shift_unit] * layer.shift_count * k
    return (layer.handoff + dt.timedelta(days=days)).replace(tzinfo=zone).astimezone(dt.UTC)


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


def layer_oncall(layer: LayerData, zone: ZoneInfo, instant: dt.datetime) -> int | None:
    """Return the person the layer puts on call at `instant`, or None."""
    if not layer.rotation:
        return None
    k = shift_index(layer, zone, instant)
    return None if k is None else layer.rotation[k % len(layer.rotation)]


def oncall_at(schedule: ScheduleData, instant: dt.datetime) -> tuple[int, ...]:
    """Return the people on call at `instant`: the highest layer that has anyone wins."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    zone = ZoneInfo(schedule.time_zone)
    for layer in sorted(schedule.layers, key=lambda la: -la.level):
        person = layer_oncall(layer, zone, instant)
        if person is not None:
            return (person,)
    return ()
