"""Taking, changing and removing overrides: the functions every face calls (API and admin).

`accounts.access` decides who may. When an override takes someone off call who is not the
person making it, `override_replaced` is sent inside the same transaction: paging receives it and
tells them (schedules does not import paging). When removing an override, or changing it to cover
less, puts someone back on call who is not the actor, `override_restored` is sent the same way,
for the part of it that has not ended.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts import access
from accounts.models import User
from schedules.models import Override, Schedule
from schedules.resolver import ScheduleData, replaced

# Sent with `override` (as saved), `actor` and `replaced` (a list of Replaced).
override_replaced = Signal()
# Sent with `override` (as it was), `actor` and `restored` (a list of Replaced: who is on call
# again in [start, end) because the override was removed or covers less).
override_restored = Signal()


class CoverRefused(PermissionError):
    """The actor may not make or remove this override; the message says why."""


@dataclass(frozen=True)
class Replaced:
    """`person` is no longer on call in [start, end) because of an override."""

    person: int
    start: dt.datetime
    end: dt.datetime


def cover_refusal(actor: User, schedule: Schedule, user: User | None) -> str | None:
    """Return why `actor` may not put `user` on call in `schedule`, or None when they may."""
    if access.may_cover(actor, schedule, user):
        return None
    team = schedule.team.name
    if user is not None and user.pk == actor.pk:
        return f"You may not take shifts in {schedule}: you are not a responder of {team}."
    return (
        f"You may not put {user} on call in {schedule}: only managers of {team} cover for others."
    )


def _check(actor: User, schedule: Schedule, user: User | None) -> None:
    refusal = cover_refusal(actor, schedule, user)
    if refusal:
        raise CoverRefused(refusal)


@transaction.atomic
def cover(
    actor: User,
    schedule: Schedule,
    user: User,
    start: dt.datetime,
    end: dt.datetime,
    replaces: User | None = None,
    *,
    override: Override | None = None,
) -> Override:
    """Put `user` on call in `schedule` for [start, end), only where `replaces` would be if set.

    With `override`, change that one (the actor must be allowed both what it was and what it
    becomes). Raise CoverRefused when not allowed, Django's ValidationError for bad values.
    Those it takes off call, other than the actor, are told (`override_replaced`).
    """
    _check(actor, schedule, user)
    window, was = [start, end], None
    if override is not None and override.pk is not None:
        was = Override.objects.select_for_update().select_related("schedule", "user")
        was = was.get(pk=override.pk)
        _check(actor, was.schedule, was.user)
        window = [min(start, was.start), max(end, was.end)]
    elif override is None:
        override = Override()
    override.schedule, override.user, override.replaces = schedule, user, replaces
    override.start, override.end = start, end
    override.clean()
    before = schedule.snapshot(*window)
    left = None  # the schedule the override moves out of, as it was
    if was is not None and was.schedule_id != schedule.pk:
        left = was.schedule.snapshot(was.start, was.end)
    override.save()
    after = schedule.snapshot(*window)
    _tell(actor, override, replaced(before, after, *window))
    if left is not None:
        _tell_restored(actor, was, left, was.schedule.snapshot(was.start, was.end))
    elif was is not None:
        _tell_restored(actor, was, before, after, skip=(override.user_id,))
    return override


def _tell(actor: User, override: Override, lost: dict) -> None:
    """Send `override_replaced` for the people the override took off call (not the actor)."""
    if override.replaces_id is not None:
        span = lost.get(override.replaces_id, (override.start, override.end))
        lost = {override.replaces_id: span}
    people = [
        Replaced(person, start, end)
        for person, (start, end) in sorted(lost.items())
        if person not in (actor.pk, override.user_id)
    ]
    if people:
        override_replaced.send(sender=Override, override=override, actor=actor, replaced=people)


@transaction.atomic
def cover_remove(actor: User, override: Override) -> None:
    """Remove `override`, or raise CoverRefused: its holder, managers and site admins may."""
    if not access.may_uncover(actor, override.schedule, override.user):
        team = override.schedule.team.name
        raise CoverRefused(
            f"You may not remove {override.user}'s override in {override.schedule}: "
            f"only they and managers of {team} may."
        )
    schedule = override.schedule
    before = schedule.snapshot(override.start, override.end)
    override.delete()
    _tell_restored(actor, override, before, schedule.snapshot(override.start, override.end))


def _tell_restored(
    actor: User,
    was: Override,
    before: ScheduleData,
    after: ScheduleData,
    *,
    skip: tuple[int, ...] = (),
) -> None:
    """Send `override_restored` for who is on call in `after` but not in `before` (not the
    actor, nor those in `skip`), within the part of `was` that has not ended."""
    start, end = max(was.start, timezone.now()), was.end
    if start >= end:
        return
    back = replaced(after, before, start, end)
    people = [
        Replaced(person, begins, ends)
        for person, (begins, ends) in sorted(back.items())
        if person != actor.pk and person not in skip
    ]
    if people:
        override_restored.send(sender=Override, override=was, actor=actor, restored=people)
