"""Handoff notices: tell the incoming person by SMS and e-mail when their shift starts.

For each schedule with the switch on, Celery beat runs `handoffs_send_due` every minute. A shift
that started within the last LOOKBACK (so a late or missed tick still notices it, but switching
the notices on does not announce shifts long under way) gets one `HandoffNotice` row, unique per
schedule, person and start. The run that claims the row (pending → sending) writes, in the same
transaction, one message per SMS and e-mail contact method: a `Notification` row that names the
notice instead of an incident, with its text. From there a notice goes the way a page goes
(`delivery.py`): the same channel classes, the same per-number SMS limits, the row and its text
recorded before the provider is called, the provider asked first whether an unsure send went
out, transient failures retried with backoff, and the sweeper sending what a dead worker or a
lost task left. The claiming run delivers them at once, as the escalation task does a level's
first pages. So a notice is sent once, and a crash after the claim delays it, never loses it.

Override notices go the same way: when someone's override takes a person off call, schedules
sends `override_replaced` in the override's transaction; `override_notices_record` writes one
pending notice (kind `override`) per person it took off, and the task is asked to run once the
transaction commits. Every run also sends the override notices still pending, so a lost task
only delays them. Removing an override, or changing it to cover less, sends `override_restored`
for those it puts back on call; `restored_notices_record` writes their notices (kind `restored`)
the same way.

Requests for cover go the same way: accepting one sends `cover_request_taken`, and
`taken_notice_record` writes the accepter's confirmation (kind `taken`; the requester hears
through the override's notice). Every run also expires the requests whose start has passed and
writes, once per request, a notice (kind `untaken`) to each manager of the team of a request
still open a day before its start.

Why a notification row rather than sharing only the channels: the channels, the lost-answer
lookup, status callbacks, retries and sweeps all work on notification rows (a row's id is in its
status callback URL; a SID recorded on any row is never taken for another's lost send), so a row
gets all of them unchanged. What a page has and a notice does not: no incident to check or write
a timeline on (the rows are its record, shown on the notice's admin page), no reply code, no
bundling with pages, and no failing over (every method is sent at once anyway).
"""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.utils import timezone

from accounts import access
from accounts.models import Role
from accounts.people import may_act
from paging.models import (
    ContactKind,
    ContactMethod,
    HandoffNotice,
    Notification,
    NotificationStatus,
)
from paging.notify.delivery import notification_deliver
from paging.notify.messages import gsm_safe
from paging.queue import enqueue_on_commit
from schedules import swaps
from schedules.models import CoverRequest, Override, Schedule
from schedules.overrides import Replaced, override_replaced, override_restored
from schedules.resolver import Shift, shifts

log = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(minutes=10)
# How far ahead the end of the new shift is looked for, to say "until …".
HORIZON = dt.timedelta(days=35)
Status = HandoffNotice.Status
Kind = HandoffNotice.Kind
WENT_OUT = (NotificationStatus.SENT, NotificationStatus.DELIVERED)
# Notices written when something happens (not at a shift's start), sent by the next run.
ON_EVENT = (Kind.OVERRIDE, Kind.RESTORED, Kind.TAKEN, Kind.UNTAKEN)


def shifts_starting(schedule: Schedule, now: dt.datetime) -> list[Shift]:
    """Return the schedule's shifts that began in (now - LOOKBACK, now]."""
    start, end = now - LOOKBACK - dt.timedelta(days=1), now + HORIZON
    found = shifts(schedule.snapshot(start, end), start, end)
    return [s for s in found if now - LOOKBACK < s.start <= now]


def _methods(user_id: int) -> QuerySet[ContactMethod]:
    """Return what a page would use of the person's SMS and e-mail: verified, not STOPped.

    A deactivated person has none: they are told nothing, as they are paged for nothing.
    """
    return ContactMethod.objects.filter(
        may_act("user"),
        user_id=user_id,
        kind__in=[ContactKind.SMS, ContactKind.EMAIL],
        verified=True,
    ).exclude(kind=ContactKind.SMS, sms_stopped_at__isnull=False)


def _message(notice: HandoffNotice, method: ContactMethod, now: dt.datetime) -> Notification:
    text = notice.words()[1]
    return Notification(
        handoff=notice,
        user_id=notice.user_id,
        tier=0,
        rule_key=f"m{method.pk}",
        kind=method.kind,
        address=method.address,
        due_at=now,
        body=gsm_safe(text) if method.kind == ContactKind.SMS else text,
    )


@transaction.atomic
def _claim(notice: HandoffNotice) -> list[tuple[ContactMethod, Notification]] | None:
    """Claim the notice and record its messages; return them, or None if it is not ours."""
    if not HandoffNotice.objects.filter(pk=notice.pk, status=Status.PENDING).update(
        status=Status.SENDING
    ):
        return None
    methods = list(_methods(notice.user_id))
    now = timezone.now()
    rows = Notification.objects.bulk_create([_message(notice, m, now) for m in methods])
    return list(zip(methods, rows, strict=True))


def _line(method: ContactMethod, message: Notification) -> str:
    """Say how the first attempt of one message went, for the notice's record."""
    what = f"{method.get_kind_display()} {method.name}"
    if message.status in WENT_OUT:
        return f"{what}: {message.provider_id}"
    if message.status == NotificationStatus.FAILED:
        return f"{what}: failed ({message.error})"
    why = f" ({message.error})" if message.error else ""
    return f"{what}: next attempt at {message.due_at:%H:%M:%S} UTC{why}"


def _status(messages: list[Notification]) -> str:
    if any(m.status in WENT_OUT for m in messages):
        return Status.SENT
    if all(m.status == NotificationStatus.FAILED for m in messages):
        return Status.FAILED  # also when there was nothing to send
    return Status.SENDING


def notice_send(*, notice: HandoffNotice) -> str:
    """Claim the notice and deliver it through the person's SMS and e-mail contact methods."""
    claimed = _claim(notice)
    if claimed is None:
        return "skipped"
    for _, message in claimed:
        notification_deliver(message.pk)
        message.refresh_from_db()
    lines = "\n".join(_line(method, message) for method, message in claimed)
    status = _status([message for _, message in claimed])
    HandoffNotice.objects.filter(pk=notice.pk).update(
        status=status, sent_to=lines or "no SMS or e-mail contact method"
    )
    log.info("%s notice %s for schedule %s: %s", notice.kind, notice.pk, notice.schedule_id, status)
    return status


def notice_record(*, schedule: Schedule, shift: Shift, horizon_end: dt.datetime) -> HandoffNotice:
    """Return the notice row for a shift's start, creating it once."""
    notice, _ = HandoffNotice.objects.get_or_create(
        schedule=schedule,
        user_id=shift.person,
        shift_start=shift.start,
        defaults={"shift_end": shift.end if shift.end < horizon_end else None},
    )
    notice.schedule = schedule
    return notice


def handoffs_send_due(now: dt.datetime) -> dict[str, int]:
    """Send the notices of shifts that just started, on schedules with the switch on."""
    counts: dict[str, int] = {}
    for schedule in Schedule.objects.filter(handoff_notice=True):
        for shift in shifts_starting(schedule, now):
            notice = notice_record(schedule=schedule, shift=shift, horizon_end=now + HORIZON)
            outcome = notice_send(notice=notice)
            counts[outcome] = counts.get(outcome, 0) + 1
    untaken_notices_record(now)
    pending = HandoffNotice.objects.filter(kind__in=ON_EVENT, status=Status.PENDING)
    pending = pending.select_related("schedule", "user", "covered_by", "cover_request__requester")
    for notice in pending.order_by("id"):
        outcome = notice_send(notice=notice)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _override_notices_record(kind: str, override: Override, people: list[Replaced]) -> None:
    """Write a pending `kind` notice for each of `people`; send them after commit."""
    HandoffNotice.objects.bulk_create(
        HandoffNotice(
            kind=kind,
            schedule_id=override.schedule_id,
            user_id=person.person,
            covered_by_id=override.user_id,
            shift_start=person.start,
            shift_end=person.end,
        )
        for person in people
    )
    enqueue_on_commit("paging.handoff_notices")


@receiver(override_replaced, sender=Override, dispatch_uid="paging.override_notices")
def override_notices_record(
    *, override: Override, actor: object, replaced: list[Replaced], **kwargs: object
) -> None:
    """Write a pending notice for each person `override` took off call; send them after commit."""
    _override_notices_record(Kind.OVERRIDE, override, replaced)


@receiver(override_restored, sender=Override, dispatch_uid="paging.restored_notices")
def restored_notices_record(
    *, override: Override, actor: object, restored: list[Replaced], **kwargs: object
) -> None:
    """Write a pending notice for each person put back on call; send them after commit."""
    _override_notices_record(Kind.RESTORED, override, restored)


def _request_notice(kind: str, request: CoverRequest, user_id: int) -> HandoffNotice:
    return HandoffNotice(
        kind=kind,
        schedule=request.schedule,
        user_id=user_id,
        covered_by_id=request.taken_by_id,
        cover_request=request,
        shift_start=request.start,
        shift_end=request.end,
    )


@receiver(swaps.cover_request_taken, sender=CoverRequest, dispatch_uid="paging.taken_notice")
def taken_notice_record(*, request: CoverRequest, **kwargs: object) -> None:
    """Write the accepter's confirmation of a request they took; send it after commit."""
    _request_notice(Kind.TAKEN, request, request.taken_by_id).save()
    enqueue_on_commit("paging.handoff_notices")


def untaken_notices_record(now: dt.datetime) -> None:
    """Expire the requests whose start passed; write, once, the managers' notice of each
    request still open a day before its start."""
    swaps.expire(now)
    for request in swaps.unanswered_claim(now):
        managers = access.members_with([request.schedule.team_id], Role.MANAGER)
        HandoffNotice.objects.bulk_create(
            _request_notice(Kind.UNTAKEN, request, manager.pk) for manager in managers
        )
