"""The admin front page: what matters now, computed here so that the template only shows it.

Open incidents by state (exhausted first), who is on call now on each schedule, and the
notifications that failed in the last 24 hours; each part links to the admin list it summarises.
"""

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from accounts import access
from accounts.models import User
from oncall.timezones import local_time
from paging.models import EXHAUSTED, Incident, IncidentStatus, Notification, NotificationStatus
from schedules.models import Schedule, snapshots
from schedules.resolver import oncall_at

# Enough to see at a glance; the linked lists hold the rest.
INCIDENTS_SHOWN = 5
SCHEDULES_SHOWN = 20
FAILED_SHOWN = 5
FAILED_WINDOW = dt.timedelta(hours=24)

# (label, what it means, the incident list's `state` filter, the same filter as a query): the
# front page counts what the linked list shows, with the one meaning of "exhausted" (EXHAUSTED).
STATES = (
    (
        "Exhausted",
        "nobody acknowledged and nobody is being paged any more",
        "exhausted",
        EXHAUSTED,
    ),
    ("Triggered", "escalating", "escalating", Q(status=IncidentStatus.TRIGGERED) & ~EXHAUSTED),
    ("Acknowledged", "someone is on it", "acknowledged", Q(status=IncidentStatus.ACKNOWLEDGED)),
)


@dataclass(frozen=True)
class Row:
    """One line on the front page: a text, the page it links to, and a local time."""

    text: str
    url: str
    when: str = ""


@dataclass(frozen=True)
class Group:
    """One part of a section: a label and count linking to its list, and its first rows."""

    label: str
    hint: str
    count: int
    url: str
    rows: tuple[Row, ...]


def changelist_url(model, lookups: dict) -> str:
    """Return the admin list of `model` filtered by `lookups`."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(lookups)}" if lookups else url


def change_url(obj) -> str:
    """Return the admin page of `obj`."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def open_incidents(user: User, zone: str) -> list[Group]:
    """Return the open incidents `user` may read by state, exhausted first, with the newest few."""
    groups = []
    for label, hint, state, query in STATES:
        found = access.readable(user, Incident.objects.filter(query))
        newest = found.select_related("service").order_by("-created_at", "-pk")[:INCIDENTS_SHOWN]
        rows = tuple(
            Row(
                f"#{i.pk} {i.service.name}: {i.summary}",
                change_url(i),
                local_time(i.created_at, zone),
            )
            for i in newest
        )
        groups.append(
            Group(label, hint, found.count(), changelist_url(Incident, {"state": state}), rows)
        )
    return groups


def oncall_now(user: User, now: dt.datetime) -> tuple[list[Row], int]:
    """Return who is on call now on the first schedules by name, and how many are not shown."""
    readable = access.readable(user, Schedule.objects.all())
    first = readable.order_by("name")[:SCHEDULES_SHOWN]
    data = snapshots(first, now, now + dt.timedelta(seconds=1))  # a fixed number of queries
    people = {pk: oncall_at(found, now) for pk, found in data.items()}
    schedules = list(first)
    names = User.objects.in_bulk({p for found in people.values() for p in found})
    rows = [
        Row(s.name, change_url(s), ", ".join(str(names[p]) for p in people[s.pk] if p in names))
        for s in schedules
    ]
    return rows, max(readable.count() - len(schedules), 0)


def failed_notifications(user: User, now: dt.datetime, zone: str) -> Group:
    """Return the failed notifications of the last 24 hours `user` may see, newest first.

    A notification holds a contact address: only the people whose rows they manage count.
    """
    # Whole seconds: the linked list's URL stays short and readable.
    since = (now - FAILED_WINDOW).replace(microsecond=0)
    lookups = {"status__exact": NotificationStatus.FAILED, "created_at__gte": since}
    people = access.manageable_people(user)
    found = Notification.objects.filter(**lookups, user__in=people)
    newest = found.select_related("user").order_by("-created_at", "-pk")[:FAILED_SHOWN]
    rows = tuple(
        Row(f"{n.get_kind_display()} to {n.user}", change_url(n), local_time(n.created_at, zone))
        for n in newest
    )
    lookups["created_at__gte"] = lookups["created_at__gte"].isoformat()
    return Group("Failed", "", found.count(), changelist_url(Notification, lookups), rows)


def front_page(*, user: User, now: dt.datetime, zone: str) -> dict:
    """Return the front page's context for `user`, in the IANA zone `zone`: what they may read."""
    oncall, not_shown = oncall_now(user, now)
    states = open_incidents(user, zone)
    return {
        "incident_states": states,
        "open_count": sum(state.count for state in states),
        "oncall": oncall,
        "oncall_not_shown": not_shown,
        "schedules_url": changelist_url(Schedule, {}),
        "failed": failed_notifications(user, now, zone),
        "zone": zone,
    }
