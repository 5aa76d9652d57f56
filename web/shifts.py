"""Who is on call now in my teams' schedules, and my own next shift, for the Now page."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from accounts import access
from accounts.models import Role, User
from schedules.models import Schedule, snapshots
from schedules.resolver import oncall_at, shifts

# Enough for a phone's screen; the schedules pages (to come) hold the rest.
SCHEDULES_SHOWN = 20
AHEAD = dt.timedelta(weeks=8)


@dataclass(frozen=True)
class OnCall:
    schedule: Schedule
    people: tuple[str, ...]


@dataclass(frozen=True)
class MyShift:
    schedule: Schedule
    start: dt.datetime
    end: dt.datetime
    now: bool  # already on call


def oncall_and_next_shift(user: User, now: dt.datetime) -> tuple[list[OnCall], MyShift | None]:
    """Return who is on call now in `user`'s teams, and their own next shift: one load for both."""
    teams = access.teams_where(user, Role.OBSERVER)
    ours = list(Schedule.objects.filter(team__in=teams).order_by("name")[:SCHEDULES_SHOWN])
    mine = list(_my_schedules(user))
    data = snapshots(list({s.pk for s in ours + mine}), now, now + AHEAD)
    return _oncall_now(ours, data, now), _next_shift(user, mine, data, now)


def _oncall_now(schedules: list[Schedule], data: dict, now: dt.datetime) -> list[OnCall]:
    """Return who is on call now in each schedule, by schedule name."""
    found = {s.pk: oncall_at(data[s.pk], now) for s in schedules}
    names = User.objects.in_bulk({p for people in found.values() for p in people})
    return [OnCall(s, tuple(str(names[p]) for p in found[s.pk] if p in names)) for s in schedules]


def _my_schedules(user: User):
    """Return the schedules `user` could be on call in: rotations, calendars and overrides."""
    mine = (
        Q(layers__members__user=user)
        | Q(layers__imported_events__user=user)
        | Q(overrides__user=user)
    )
    return Schedule.objects.filter(mine).distinct().order_by("name")[:SCHEDULES_SHOWN]


def _next_shift(user: User, schedules: list[Schedule], data: dict, now: dt.datetime):
    """Return `user`'s current or next shift within eight weeks, or None."""
    end = now + AHEAD
    found = []
    for schedule in schedules:
        mine = (s for s in shifts(data[schedule.pk], now, end) if s.person == user.pk)
        first = next(mine, None)
        if first is not None:
            found.append(MyShift(schedule, first.start, first.end, first.start <= now))
    return min(found, key=lambda s: (s.start, s.schedule.name), default=None)
