"""Who is on call now in schedules, and my own shifts, for the Now and Schedules pages.

Each reads any number of schedules in a fixed number of queries (`schedules.models.snapshots`).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from accounts import access
from accounts.models import Role, User
from schedules.models import Schedule, snapshots
from schedules.resolver import oncall_at, shifts

# Enough for a phone's screen: Now's on-call list and my shifts read at most this many schedules
# (the Schedules page lists all of my teams').
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


def team_schedules(user: User):
    """Return the schedules of `user`'s teams, by name."""
    teams = access.teams_where(user, Role.OBSERVER)
    return Schedule.objects.filter(team__in=teams).select_related("team").order_by("name")


def oncall_in(schedules, now: dt.datetime) -> list[OnCall]:
    """Return who is on call now in each of `schedules` (a queryset), in its order."""
    data = snapshots(schedules, now, now + dt.timedelta(seconds=1))
    found = {pk: oncall_at(d, now) for pk, d in data.items()}
    names = User.objects.in_bulk({p for people in found.values() for p in people})
    listed = list(schedules)
    return [OnCall(s, tuple(str(names[p]) for p in found[s.pk] if p in names)) for s in listed]


def oncall_now(user: User, now: dt.datetime) -> list[OnCall]:
    """Return who is on call now in each schedule of `user`'s teams, by schedule name."""
    return oncall_in(team_schedules(user)[:SCHEDULES_SHOWN], now)


def _my_schedules(user: User):
    """Return the schedules `user` could be on call in: rotations, calendars and overrides."""
    mine = (
        Q(layers__members__user=user)
        | Q(layers__imported_events__user=user)
        | Q(overrides__user=user)
    )
    return Schedule.objects.filter(mine).distinct().order_by("name")[:SCHEDULES_SHOWN]


def my_shifts(user: User, now: dt.datetime, ahead: dt.timedelta = AHEAD) -> list[MyShift]:
    """Return `user`'s current and coming shifts within `ahead`, soonest first."""
    end = now + ahead
    schedules = _my_schedules(user)
    data = snapshots(schedules, now, end)
    found = [
        MyShift(schedule, s.start, s.end, s.start <= now)
        for schedule in schedules
        for s in shifts(data[schedule.pk], now, end)
        if s.person == user.pk
    ]
    return sorted(found, key=lambda s: (s.start, s.schedule.name))


def next_shift(user: User, now: dt.datetime) -> MyShift | None:
    """Return `user`'s current or next shift within eight weeks, or None."""
    return next(iter(my_shifts(user, now)), None)
