"""Imported calendars: fetch an iCal feed (or read an uploaded .ics), expand it, map it to people.

A refresh turns the calendar into plain `ImportedEvent` rows that `Schedule.snapshot()` hands to
the pure resolver, so who-is-on-call, shifts and our own iCal feeds include imported shifts.
A refresh that fails (refused address, network, HTTP status, size, not iCalendar, too many
events, too slow) records the error and keeps the last good copy and its events. Feeds are
fetched only through the guarded `oncall.outbound` fetcher. Feed URLs often carry a secret token
and a response body may hold anything: errors and logs name the host and a category, never more.
What one import may produce is capped (CALENDAR_IMPORT_MAX_EVENTS, CALENDAR_IMPORT_MAX_BYTES,
CALENDAR_IMPORT_MAX_SECONDS): recurrences are expanded lazily and expansion stops at a cap.
"""

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from oncall import outbound
from schedules.models import CALENDAR_KINDS, ImportedEvent, Layer, LayerKind

log = logging.getLogger(__name__)

# Expanded this far around now: the iCal export shows 30 days back and a year ahead, with
# shifts computed 35 days beyond both ends.
BACK = dt.timedelta(days=70)
AHEAD = dt.timedelta(days=405)
MAX_UNMAPPED = 50


class CalendarImportError(Exception):
    """The calendar could not be fetched or read; the message is safe to log and show.

    `host` is set when a fetch failed at a host other than the feed URL's (a redirect's).
    """

    def __init__(self, message: str, host: str = "") -> None:
        super().__init__(message)
        self.host = host


@dataclass(frozen=True)
class Fetched:
    """A fetch's outcome: the body, or None when the server says it has not changed."""

    body: bytes | None
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class Occurrence:
    """One expanded event occurrence and the names and addresses it mentions."""

    start: dt.datetime
    end: dt.datetime
    summary: str
    attendees: tuple[str, ...]
    organizer: str


@dataclass(frozen=True)
class Mapped:
    """An occurrence mapped to a person."""

    user_id: int
    start: dt.datetime
    end: dt.datetime
    summary: str


# --- Fetching -----------------------------------------------------------------------------------


def url_host(url: str) -> str:
    """Return only the host of a feed URL: paths and queries of private feeds hold tokens."""
    return outbound.host_of(url)


def url_hint(url: str) -> str:
    """Return what a private feed URL may show to who may not change it: its host."""
    return f"{url_host(url)}/…" if url else ""


def fetch(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET the feed, conditionally when we hold a copy; raise CalendarImportError on failure."""
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "oncall-calendar-import/1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        got = outbound.get(url, headers=headers, max_bytes=settings.CALENDAR_IMPORT_MAX_BYTES)
    except outbound.OutboundError as exc:
        raise CalendarImportError(str(exc), host=exc.host) from None
    if got.status == 304:
        return Fetched(None, etag, last_modified)
    if got.status != 200:
        raise CalendarImportError(f"HTTP {got.status}")
    return Fetched(got.body, got.headers.get("ETag", ""), got.headers.get("Last-Modified", ""))


# --- Reading ------------------------------------------------------------------------------------


def parse(body: bytes) -> icalendar.Calendar:
    """Return the parsed calendar; raise CalendarImportError if it is not iCalendar or too large.

    The parser's message quotes the offending line, so it is never passed on.
    """
    if len(body) > settings.CALENDAR_IMPORT_MAX_BYTES:
        raise CalendarImportError("too large")
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except ValueError:
        raise CalendarImportError("not iCalendar") from None
    if calendar.name != "VCALENDAR":
        raise CalendarImportError("not iCalendar")
    return calendar


def _instant(value: dt.date | dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return an aware UTC instant; dates and floating times are in the schedule's zone."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def _address(value: object) -> str:
    text = str(value or "").strip()
    return text[7:].strip() if text.lower().startswith("mailto:") else text


def _attendees(event: icalendar.Event) -> tuple[str, ...]:
    found = event.get("ATTENDEE") or []
    if not isinstance(found, list):
        found = [found]
    return tuple(a for a in (_address(v) for v in found) if a)


def _too_many(cap: int) -> CalendarImportError:
    return CalendarImportError(
        f"too many events: more than {cap} from {BACK.days} days ago to {AHEAD.days} days ahead"
    )


def _expanded(
    calendar: icalendar.Calendar, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Iterator[icalendar.Event]:
    """Yield the events overlapping [start, end) in start order, lazily: rules may be endless."""
    for event in recurring_ical_events.of(calendar).after(start):
        if "DTSTART" in event and _instant(event.start, zone) >= end:
            return
        yield event


def _occurrence(event: icalendar.Event, zone: ZoneInfo) -> Occurrence | None:
    """Return the event as an occurrence, or None if it is cancelled or takes no time."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED" or "DTSTART" not in event:
        return None
    begins, ends = _instant(event.start, zone), _instant(event.end, zone)
    if ends <= begins:
        return None
    summary = str(event.get("SUMMARY", "")).strip()
    return Occurrence(begins, ends, summary, _attendees(event), _address(event.get("ORGANIZER")))


def occurrences(
    calendar: icalendar.Calendar,
    zone: ZoneInfo,
    start: dt.datetime,
    end: dt.datetime,
    *,
    deadline: float = float("inf"),
) -> list[Occurrence]:
    """Return the calendar's occurrences overlapping [start, end), recurrences expanded.

    Stops with CalendarImportError past CALENDAR_IMPORT_MAX_EVENTS or the monotonic deadline.
    """
    cap = settings.CALENDAR_IMPORT_MAX_EVENTS
    out: list[Occurrence] = []
    try:
        for event in _expanded(calendar, zone, start, end):
            if time.monotonic() > deadline:
                raise CalendarImportError(
                    f"took too long: more than {settings.CALENDAR_IMPORT_MAX_SECONDS}s to expand"
                )
            found = _occurrence(event, zone)
            if found is not None:
                out.append(found)
            if len(out) > cap:
                raise _too_many(cap)
    except CalendarImportError:
        raise
    except Exception:  # the library raises many kinds for malformed rules and zones
        raise CalendarImportError("could not expand events") from None
    return out


# --- Mapping to people --------------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    """People by lower-cased e-mail address and by lower-cased username."""

    emails: dict[str, int]
    usernames: dict[str, int]

    def find(self, word: str) -> int | None:
        word = word.lower()
        return self.emails.get(word) or self.usernames.get(word)


def directory() -> Directory:
    """Return the active people, for mapping events to them."""
    emails: dict[str, int] = {}
    usernames: dict[str, int] = {}
    for pk, username, email in (
        User.objects.filter(is_active=True).order_by("pk").values_list("pk", "username", "email")
    ):
        usernames.setdefault(username.lower(), pk)
        if email:
            emails.setdefault(email.lower(), pk)
    return Directory(emails, usernames)


_WORD = re.compile(r"[\w.@+-]+")


def _summary_person(summary: str, people: Directory) -> int | None:
    """Return the first person named in the summary by e-mail address or username."""
    for word in _WORD.findall(summary):
        found = people.find(word.strip(".-+"))
        if found is not None:
            return found
    return None


def person_of(occurrence: Occurrence, people: Directory) -> int | None:
    """Map an occurrence to a person: an attendee, else the summary, else the organizer.

    The organizer comes last: a shared team calendar is often the organizer of every event.
    """
    for attendee in occurrence.attendees:
        found = people.find(attendee)
        if found is not None:
            return found
    found = _summary_person(occurrence.summary, people)
    if found is None and occurrence.organizer:
        found = people.find(occurrence.organizer)
    return found


def _unmapped_label(occurrence: Occurrence) -> str:
    return ", ".join(occurrence.attendees) or occurrence.summary or occurrence.organizer or "?"


def mapped(found: list[Occurrence], people: Directory) -> tuple[list[Mapped], list[str]]:
    """Return the occurrences mapped to people, and what could not be mapped (sorted, unique)."""
    out, unmapped = [], set()
    for occurrence in found:
        person = person_of(occurrence, people)
        if person is None:
            unmapped.add(_unmapped_label(occurrence))
        else:
            summary = occurrence.summary[:200]
            out.append(Mapped(person, occurrence.start, occurrence.end, summary))
    return out, sorted(unmapped)[:MAX_UNMAPPED]


# --- Refreshing ---------------------------------------------------------------------------------


def _events(layer: Layer, body: bytes, now: dt.datetime) -> tuple[list[Mapped], list[str]]:
    """Parse and expand the calendar within the caps; map its occurrences to people."""
    deadline = time.monotonic() + settings.CALENDAR_IMPORT_MAX_SECONDS
    zone = ZoneInfo(layer.schedule.time_zone)
    found = occurrences(parse(body), zone, now - BACK, now + AHEAD, deadline=deadline)
    return mapped(found, directory())


@transaction.atomic
def _store(layer: Layer, events: list[Mapped], unmapped: list[str], **fields: object) -> None:
    """Replace the layer's events and record a successful refresh."""
    Layer.objects.select_for_update().filter(pk=layer.pk).first()
    ImportedEvent.objects.filter(layer=layer).delete()
    ImportedEvent.objects.bulk_create(
        ImportedEvent(layer=layer, user_id=e.user_id, start=e.start, end=e.end, summary=e.summary)
        for e in events
    )
    Layer.objects.filter(pk=layer.pk).update(
        calendar_error="", calendar_unmapped=unmapped, **fields
    )


def calendar_refresh(*, layer: Layer, now: dt.datetime) -> str:
    """Fetch (or re-read) the layer's calendar and replace its events; return what happened.

    On failure the error is recorded and the last good copy and its events stay.
    """
    host = url_host(layer.calendar_url) if layer.kind == LayerKind.ICAL_URL else "upload"
    fields: dict[str, object] = {"calendar_checked_at": now, "calendar_refreshed_at": now}
    try:
        body = layer.calendar_body.encode()
        if layer.kind == LayerKind.ICAL_URL:
            etag, modified = (
                (layer.calendar_etag, layer.calendar_last_modified) if body else ("", "")
            )
            got = fetch(layer.calendar_url, etag=etag, last_modified=modified)
            if got.body is not None:
                body = got.body
                fields.update(
                    calendar_body=body.decode("utf-8", "replace"),
                    calendar_etag=got.etag[:200],
                    calendar_last_modified=got.last_modified[:64],
                )
        events, unmapped = _events(layer, body, now)
    except CalendarImportError as exc:
        error = str(exc) if layer.kind == LayerKind.ICAL_FILE else f"{exc.host or host}: {exc}"
        Layer.objects.filter(pk=layer.pk).update(calendar_checked_at=now, calendar_error=error)
        log.warning("calendar of layer %s (%s) not refreshed: %s", layer.pk, host, error)
        return "failed"
    _store(layer, events, unmapped, **fields)
    log.info(
        "calendar of layer %s (%s): %d events, %d unmapped",
        layer.pk,
        host,
        len(events),
        len(unmapped),
    )
    return "refreshed"


def calendar_claim(*, layer_id: int, now: dt.datetime) -> bool:
    """Claim a due calendar for refreshing (one worker wins), by a conditional UPDATE."""
    stale = now - dt.timedelta(seconds=settings.CALENDAR_REFRESH_SECONDS)
    due = Q(calendar_checked_at__isnull=True) | Q(calendar_checked_at__lte=stale)
    return bool(Layer.objects.filter(due, pk=layer_id).update(calendar_checked_at=now))


def calendars_refresh_due(now: dt.datetime) -> dict[str, int]:
    """Refresh every imported calendar not checked within CALENDAR_REFRESH_SECONDS."""
    stale = now - dt.timedelta(seconds=settings.CALENDAR_REFRESH_SECONDS)
    due = Q(calendar_checked_at__isnull=True) | Q(calendar_checked_at__lte=stale)
    counts = {"refreshed": 0, "failed": 0}
    for layer_id in Layer.objects.filter(due, kind__in=CALENDAR_KINDS).values_list("pk", flat=True):
        if not calendar_claim(layer_id=layer_id, now=now):
            continue  # another worker has it
        layer = Layer.objects.select_related("schedule").get(pk=layer_id)
        counts[calendar_refresh(layer=layer, now=now)] += 1
    return counts
