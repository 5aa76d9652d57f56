"""Asking for cover: a responder asks, a teammate accepts (the override is made) or declines.

Every face calls these. Accepting locks the request's row, so of two acceptances at once exactly
one makes the override; `cover_request_taken` is sent in that transaction and paging tells the
accepter (the requester hears through the override's own notice). The handoff-notice beat task
expires requests whose start has passed and tells the managers of the ones still open a day
before they start (`unanswered_claim`).
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone

from accounts import access
from accounts.models import Role, User
from schedules.models import CoverRequest, Override, Schedule
from schedules.overrides import CoverRefused, cover
from schedules.resolver import shifts

# Sent with `request` (taken, its override set) inside the accepting transaction.
cover_request_taken = Signal()

# A request still open this long before its start is shown to the team's managers.
MANAGERS_BEFORE = dt.timedelta(days=1)
Status = CoverRequest.Status


def _words_of(request: CoverRequest) -> str:
    """Say why a request is no longer open, for a refusal."""
    if request.status == Status.TAKEN:
        return f"{request.taken_by} has already taken it."
    return f"it was {request.status}."


def ask_refusal(actor: User, schedule: Schedule) -> str | None:
    """Return why `actor` may not ask for cover in `schedule`, or None when they may."""
    if access.may_cover(actor, schedule, actor):
        return None
    return f"You may not ask for cover in {schedule}: you are not a responder of {schedule.team}."


def _on_call(person: User, schedule: Schedule, start: dt.datetime, end: dt.datetime) -> bool:
    """Return whether `person` is on call at some time in [start, end) of `schedule`."""
    data = schedule.snapshot(start, end)
    return any(s.person == person.pk for s in shifts(data, start, end))


@transaction.atomic
def cover_request_open(
    *, actor: User, schedule: Schedule, start: dt.datetime, end: dt.datetime
) -> CoverRequest:
    """Ask the team to cover [start, end) of `actor`'s shifts in `schedule`.

    Raise CoverRefused when `actor` may not ask, ValidationError (naming the field) for a span
    that has passed, is empty, holds no shift of theirs or overlaps a request of theirs.
    """
    refusal = ask_refusal(actor, schedule)
    if refusal:
        raise CoverRefused(refusal)
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})
    if start <= timezone.now():
        raise ValidationError({"start": "The start has passed: ask for cover of what is ahead."})
    if not _on_call(actor, schedule, start, end):
        raise ValidationError({"start": "You have no shift in that span to ask cover for."})
    mine = CoverRequest.objects.filter(
        schedule=schedule, requester=actor, status=Status.OPEN, start__lt=end, end__gt=start
    )
    if mine.exists():
        raise ValidationError({"start": "You already asked for cover of part of that span."})
    return CoverRequest.objects.create(schedule=schedule, requester=actor, start=start, end=end)


@transaction.atomic
def cover_request_accept(*, actor: User, request: CoverRequest) -> Override:
    """Take the request: `actor` covers it, replacing the requester. Raise CoverRefused."""
    locked = CoverRequest.objects.select_for_update().get(pk=request.pk)
    locked.schedule, locked.requester = request.schedule, request.requester
    if locked.status == Status.OPEN and locked.start <= timezone.now():
        locked.status = Status.EXPIRED
        locked.save(update_fields=["status"])
    if locked.status != Status.OPEN:
        if locked.taken_by_id:
            locked.taken_by = User.objects.get(pk=locked.taken_by_id)
        raise CoverRefused(f"Not taken: {_words_of(locked)}")
    if locked.requester_id == actor.pk:
        raise CoverRefused("Not taken: it is your own request; cancel it instead.")
    override = cover(
        actor, locked.schedule, actor, locked.start, locked.end, replaces=locked.requester
    )
    locked.status, locked.taken_by, locked.override = Status.TAKEN, actor, override
    locked.save(update_fields=["status", "taken_by", "override"])
    cover_request_taken.send(sender=CoverRequest, request=locked)
    return override


def cover_request_decline(*, actor: User, request: CoverRequest) -> None:
    """Hide the request from `actor`; it stays open for the others."""
    request.declined_by.add(actor)


def cover_request_cancel(*, actor: User, request: CoverRequest) -> None:
    """Withdraw an open request: its requester, and those who configure the schedule, may."""
    if actor.pk != request.requester_id and not access.may_configure(actor, request.schedule):
        raise CoverRefused("Only the person who asked may cancel a request for cover.")
    cancelled = CoverRequest.objects.filter(pk=request.pk, status=Status.OPEN).update(
        status=Status.CANCELLED
    )
    if not cancelled:
        request.refresh_from_db()
        raise CoverRefused(f"Not cancelled: {_words_of(request)}")


def expire(now: dt.datetime) -> int:
    """Mark the open requests whose start has passed as expired; return how many."""
    return CoverRequest.objects.filter(status=Status.OPEN, start__lte=now).update(
        status=Status.EXPIRED
    )


def unanswered_claim(now: dt.datetime) -> list[CoverRequest]:
    """Return the open requests that start within a day and whose managers were not yet told,
    each claimed (marked told) by this call only."""
    due = CoverRequest.objects.filter(
        status=Status.OPEN,
        start__gt=now,
        start__lte=now + MANAGERS_BEFORE,
        managers_told_at__isnull=True,
    )
    claimed = []
    for request in due.select_related("schedule", "requester"):
        mine = CoverRequest.objects.filter(pk=request.pk, managers_told_at__isnull=True)
        if mine.update(managers_told_at=now):
            claimed.append(request)
    return claimed


def _shown(now: dt.datetime) -> QuerySet[CoverRequest]:
    open_ones = CoverRequest.objects.filter(status=Status.OPEN, start__gt=now)
    return open_ones.select_related("schedule", "schedule__team", "requester")


def open_for(user: User, now: dt.datetime) -> QuerySet[CoverRequest]:
    """Return the open requests `user` may take: their teams' (as responder), not their own,
    not declined by them."""
    teams = access.teams_where(user, Role.RESPONDER)
    found = _shown(now).filter(schedule__team__in=teams).exclude(requester=user)
    declined = CoverRequest.declined_by.through.objects.filter(user=user)
    return found.exclude(pk__in=declined.values("coverrequest_id"))


def asked_by(user: User, now: dt.datetime) -> QuerySet[CoverRequest]:
    """Return `user`'s own open requests."""
    return _shown(now).filter(requester=user)


def unanswered_for(user: User, now: dt.datetime) -> QuerySet[CoverRequest]:
    """Return the open requests within a day of their start in the teams `user` manages."""
    teams = access.teams_where(user, Role.MANAGER)
    return _shown(now).filter(schedule__team__in=teams, start__lte=now + MANAGERS_BEFORE)
