"""iCalendar feeds of shifts: a person's across every schedule, or everyone's on one schedule.

The body depends only on the configuration and the day (the window is whole UTC days, and
DTSTAMP is its start), so a calendar app polling with If-None-Match gets 304 until something
changes. Each shift's UID is a digest of what the shift is, so it stays the same across
refreshes while the shift is unchanged.
"""

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from icalendar import Calendar, Event, vDuration

from accounts.models import User
from schedules.models import CalendarFeed, Schedule
from schedules.resolver import Shift, shifts

BACK = dt.timedelta(days=30)
AHEAD = dt.timedelta(days=365)
REFRESH = dt.timedelta(hours=1)


@dataclass(frozen=True)
class FeedShift:
    schedule: Schedule
    shift: Shift


def _today(now: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)


def window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Return the feed's window: 30 days back to a year ahead, on whole UTC days."""
    return _today(now) - BACK, _today(now) + AHEAD


# Shifts are computed this far beyond the window so that those crossing its edges keep their true
# start and end (and so their UIDs) as the window slides day by day.
MARGIN = dt.timedelta(days=35)


def _schedule_shifts(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> list[FeedShift]:
    wide = start - MARGIN, end + MARGIN
    found = shifts(schedule.snapshot(*wide), *wide)
    return [FeedShift(schedule, s) for s in found if s.start < end and s.end > start]


def _person_schedules(user: User) -> Iterable[Schedule]:
    """Return every schedule the person could be on call in: rotations, imported calendars
    and overrides."""
    mine = (
        Q(layers__members__user=user)
        | Q(layers__imported_events__user=user)
        | Q(overrides__user=user)
    )
    return Schedule.objects.filter(mine).distinct()


def capped(items: list[FeedShift], now: dt.datetime) -> list[FeedShift]:
    """Keep at most CALENDAR_FEED_MAX_EVENTS shifts: current and coming ones first, then the
    latest past ones (a calendar app needs what is ahead more than what is behind)."""
    cap = settings.CALENDAR_FEED_MAX_EVENTS
    ahead = [item for item in items if item.shift.end > now][:cap]
    behind = [item for item in items if item.shift.end <= now]
    room = cap - len(ahead)
    return (behind[-room:] if room else []) + ahead


def feed_shifts(feed: CalendarFeed, now: dt.datetime) -> list[FeedShift]:
    """Return the shifts a feed shows, in time order, at most CALENDAR_FEED_MAX_EVENTS."""
    return capped(_all_feed_shifts(feed, now), now)


def _all_feed_shifts(feed: CalendarFeed, now: dt.datetime) -> list[FeedShift]:
    start, end = window(now)
    if feed.schedule_id:
        return _schedule_shifts(feed.schedule, start, end)
    found = [
        item
        for schedule in _person_schedules(feed.user)
        for item in _schedule_shifts(schedule, start, end)
        if item.shift.person == feed.user_id
    ]
    return sorted(found, key=lambda item: (item.shift.start, item.schedule.name))


def _uid(item: FeedShift) -> str:
    shift = item.shift
    what = f"{item.schedule.pk}|{shift.person}|{shift.start.isoformat()}|{shift.end.isoformat()}"
    host = settings.PUBLIC_URL.split("://", 1)[-1].split("/", 1)[0] or "oncall"
    return f"{hashlib.sha256(what.encode()).hexdigest()[:32]}@{host}"


def _event(item: FeedShift, names: dict[int, str], stamp: dt.datetime) -> Event:
    shift = item.shift
    event = Event()
    event.add("uid", _uid(item))
    event.add("dtstamp", stamp)
    event.add("dtstart", shift.start.astimezone(dt.UTC))
    event.add("dtend", shift.end.astimezone(dt.UTC))
    name = names.get(shift.person, f"user {shift.person}")
    event.add("summary", f"On call: {item.schedule.name} ({name})")
    source = "override" if shift.source == "override" else f"layer {shift.source}"
    event.add("description", f"{name} is on call for {item.schedule.name} ({source}).")
    event.add("transp", "TRANSPARENT")  # being on call does not make someone busy
    return event


def feed_name(feed: CalendarFeed) -> str:
    return f"On call: {feed.schedule.name if feed.schedule_id else feed.user}"


def feed_ics(feed: CalendarFeed, now: dt.datetime) -> bytes:
    """Return the feed as an iCalendar document."""
    items = feed_shifts(feed, now)
    people = {item.shift.person for item in items}
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=people)}
    calendar = Calendar()
    calendar.add("prodid", "-//On-call paging//Shifts//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", feed_name(feed))
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    stamp = _today(now)  # stable all day, like the rest of the body
    for item in items:
        calendar.add_component(_event(item, names, stamp))
    return calendar.to_ical()
