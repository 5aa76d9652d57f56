"""Print who is on call, per schedule, now or at a given instant."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from oncall.timezones import INSTANT_HELP, parse_instant
from schedules.models import Schedule
from schedules.resolver import shifts


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
                raise CommandError(f"--schedule: no schedule named {schedule!r}")
        for item in schedules:
            self.stdout.write(self._line(item, instant))

    def _line(self, schedule: Schedule, instant: dt.datetime) -> str:
        horizon = instant + dt.timedelta(days=1)
        found = shifts(schedule.snapshot(instant, horizon), instant, horizon)
        if not found or found[0].start != instant:
            return f"{schedule.name}: nobody"
        current = found[0]
        person = User.objects.get(pk=current.person)
        until = current.end.astimezone(instant.tzinfo)
        more = "" if current.end < horizon else " or later"
        return f"{schedule.name}: {person} (until {until:%Y-%m-%d %H:%M %Z}{more})"
