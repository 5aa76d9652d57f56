"""Print who is on call, per schedule, now or at a given instant."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from oncall.timezones import INSTANT_HELP, parse_instant
from schedules.models import Schedule
from schedules.resolver import Shift, shifts

# How far ahead the end of the current shift is looked for, a longer window each time.
LOOKAHEAD_DAYS = (1, 8, 35, 366)


def _instant(raw: str | None) -> dt.datetime:
    if raw is None:
        return timezone.now()
    when = parse_instant(raw)
    if when is None:
        raise CommandError(f"--at: {raw!r} {INSTANT_HELP}")
    return when


class Command(BaseCommand):
    help = "Print who is on call, per schedule (now, or --at an ISO 8601 instant)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schedule", help="only this schedule (by name)")
        parser.add_argument("--at", help="an ISO 8601 instant, e.g. 2026-12-24T22:00:00+01:00")

    def handle(self, *args, schedule: str | None = None, at: str | None = None, **options) -> None:
        instant = _instant(at)
        schedules = Schedule.objects.order_by("name")
        if schedule:
            schedules = schedules.filter(name=schedule)
            if not schedules.exists():
                names = ", ".join(repr(s.name) for s in Schedule.objects.order_by("name"))
                message = f"--schedule: no schedule named {schedule!r} (there are: {names})"
                raise CommandError(message)
        for item in schedules:
            zone = instant.tzinfo if at else ZoneInfo(item.time_zone)
            self.stdout.write(_line(item, instant, zone))


def current_shift(schedule: Schedule, instant: dt.datetime) -> tuple[Shift | None, bool]:
    """Return the shift under way at `instant` and whether its end was found.

    The window grows until the shift ends inside it: a weekly rotation's shift ends days away.
    """
    for days in LOOKAHEAD_DAYS:
        horizon = instant + dt.timedelta(days=days)
        found = shifts(schedule.snapshot(instant, horizon), instant, horizon)
        if not found or found[0].start != instant:
            return None, True
        if found[0].end < horizon:
            return found[0], True
    return found[0], False


def _line(schedule: Schedule, instant: dt.datetime, zone: dt.tzinfo) -> str:
    current, ends = current_shift(schedule, instant)
    if current is None:
        return f"{schedule.name}: nobody"
    person = User.objects.get(pk=current.person)
    until = current.end.astimezone(zone)
    more = "" if ends else " or later"
    return f"{schedule.name}: {person} (until {until:%Y-%m-%d %H:%M %Z}{more})"
