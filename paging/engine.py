"""The escalation engine: advance due incidents, deliver due notifications, sweep lost work.

Each function claims its row first (`SELECT … FOR UPDATE SKIP LOCKED` or a conditional UPDATE),
so any number of workers, retried tasks and the sweeper can race without paging anyone twice.
"""

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from escalation.models import Tier
from escalation.planner import Position, plan
from paging.actions import timeline_add
from paging.channels import DeliveryError, channel_for
from paging.heartbeats import heartbeats_check
from paging.messages import sms_page
from paging.models import (
    ContactMethod,
    Incident,
    IncidentStatus,
    Notification,
    NotificationRule,
    NotificationStatus,
    ReplyCode,
)
from paging.queue import enqueue, enqueue_on_commit
from schedules.resolver import oncall_at

log = logging.getLogger(__name__)

# A notification claimed this long ago but never finished belongs to a worker that died.
STALE_SENDING = dt.timedelta(minutes=2)
# The eta task normally delivers on time; the sweeper steps in only after this much lateness.
SWEEP_GRACE = dt.timedelta(seconds=5)


def tier_people(tier: Tier, now: dt.datetime) -> list[User]:
    """Return the tier's people at `now`, schedules resolved, each once, in target order."""
    ids: list[int] = [u.pk for u in tier.users.all()]
    for schedule in tier.schedules.all():
        ids.extend(oncall_at(schedule.snapshot(now, now + dt.timedelta(seconds=1)), now))
    unique = list(dict.fromkeys(ids))
    by_id = User.objects.in_bulk(unique)
    return [by_id[i] for i in unique if i in by_id]


def person_rules(user: User) -> list[tuple[str, ContactMethod, dt.timedelta]]:
    """Return (rule key, contact method, delay) for each way to reach `user`.

    A person with no rules of their own gets the site default: every contact method, at once.
    """
    rules = NotificationRule.objects.filter(user=user).select_related("contact_method")
    own = [(f"r{r.pk}", r.contact_method, r.delay) for r in rules]
    if own:
        return own
    return [(f"c{c.pk}", c, dt.timedelta(0)) for c in ContactMethod.objects.filter(user=user)]


def reply_code(*, phone: str, incident: Incident) -> int:
    """Return the SMS reply code of `incident` for `phone`: the smallest one free there."""
    for _ in range(10):
        held = ReplyCode.objects.filter(phone=phone)
        mine = held.filter(incident=incident).first()
        if mine is not None:
            return mine.code
        used = set(held.values_list("code", flat=True))
        code = next(n for n in range(1, len(used) + 2) if n not in used)
        try:
            with transaction.atomic():
                ReplyCode.objects.create(phone=phone, code=code, incident=incident)
            return code
        except IntegrityError:
            continue  # another worker took that code for another incident; look again
    raise RuntimeError(f"no free reply code for incident {incident.pk}")


def _body(incident: Incident, method: ContactMethod) -> str:
    code = reply_code(phone=method.address, incident=incident)
    return sms_page(
        number=incident.pk,
        severity=incident.severity,
        service=incident.service.name,
        summary=incident.summary,
        code=code,
    )


def _page_person(incident: Incident, user: User, position: Position, now: dt.datetime) -> list:
    """Write the person's notifications for this tier; return the new ones."""
    created = []
    for key, method, delay in person_rules(user):
        notification, new = Notification.objects.get_or_create(
            incident=incident,
            tier=position.tier,
            loop=position.loop,
            user=user,
            rule_key=key,
            defaults={
                "kind": method.kind,
                "address": method.address,
                "due_at": now + delay,
                "body": _body(incident, method),
            },
        )
        if new:
            created.append(notification)
    return created


def _reachable(people: list[User]) -> list[User]:
    with_methods = set(
        ContactMethod.objects.filter(user__in=people).values_list("user_id", flat=True)
    )
    return [p for p in people if p.pk in with_methods]


def _advance(incident: Incident, tiers: list[Tier], now: dt.datetime) -> list[Notification]:
    """Page the next tier that has anyone to page; record the position and when it is due."""
    policy = incident.service.escalation_policy
    shape = policy.shape(tiers)
    current = None
    if incident.escalation_tier is not None:
        current = Position(tier=incident.escalation_tier, loop=incident.escalation_loop)
    for _ in range(len(tiers) * (policy.repeat + 1)):
        step = plan(shape, current, now)
        if step is None:
            break
        current = step.position
        label = f"Level {current.level}" + (f" (loop {current.loop + 1})" if current.loop else "")
        people = _reachable(tier_people(tiers[current.tier], now))
        incident.escalation_tier, incident.escalation_loop = current.tier, current.loop
        if not people:
            timeline_add(
                incident=incident, kind="skipped", message=f"{label} skipped: nobody to page"
            )
            continue
        notifications = [n for p in people for n in _page_person(incident, p, current, now)]
        names = ", ".join(str(p) for p in people)
        timeline_add(incident=incident, kind="escalated", message=f"{label} paged: {names}")
        incident.escalation_due_at = step.next_due
        return notifications
    incident.escalation_due_at = None
    timeline_add(
        incident=incident, kind="exhausted", message="Escalation exhausted; nobody acknowledged"
    )
    return []


@transaction.atomic
def incident_escalate(incident_id: int) -> list[int]:
    """Run the incident's escalation step if it is due; return the notifications written."""
    now = timezone.now()
    incident = (
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("service__escalation_policy")
        .filter(pk=incident_id, status=IncidentStatus.TRIGGERED, escalation_due_at__lte=now)
        .first()
    )
    if incident is None:
        return []  # not due, not triggered, gone, or another worker holds it
    policy = incident.service.escalation_policy
    tiers = list(policy.tiers.prefetch_related("users", "schedules")) if policy else []
    if not tiers:
        incident.escalation_due_at = None
        timeline_add(incident=incident, kind="not_paged", message="Policy has no tiers to page")
        incident.save()
        return []
    notifications = _advance(incident, tiers, now)
    incident.save()
    for n in notifications:
        enqueue_on_commit("paging.deliver", n.pk, eta=n.due_at if n.due_at > now else None)
    if incident.escalation_due_at is not None:
        enqueue_on_commit("paging.escalate", incident.pk, eta=incident.escalation_due_at)
    return [n.pk for n in notifications]


def _claim(notification_id: int) -> Notification | None:
    """Mark a due pending notification as sending; return it, or None if it is not ours."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=NotificationStatus.PENDING, due_at__lte=now
    ).update(status=NotificationStatus.SENDING, attempts=F("attempts") + 1, sent_at=now)
    if not claimed:
        return None
    return Notification.objects.select_related("incident__service", "user").get(pk=notification_id)


def _finish(notification: Notification, **fields: object) -> None:
    for name, value in fields.items():
        setattr(notification, name, value)
    notification.save(update_fields=list(fields))


def _failed(notification: Notification, error: DeliveryError) -> None:
    """Retry a transient failure with backoff, or fail for good."""
    attempts = notification.attempts
    if not error.permanent and attempts < settings.PAGING_DELIVERY_MAX_ATTEMPTS:
        retry_at = timezone.now() + dt.timedelta(seconds=min(2**attempts, 60))
        _finish(notification, status=NotificationStatus.PENDING, due_at=retry_at, error=str(error))
        enqueue("paging.deliver", notification.pk, eta=retry_at)
        return
    _finish(notification, status=NotificationStatus.FAILED, error=str(error))
    what = f"{notification.get_kind_display()} to {notification.user}"
    timeline_add(incident=notification.incident, kind="failed", message=f"{what} failed: {error}")


def notification_deliver(notification_id: int) -> str:
    """Send one due notification through its channel; return what happened."""
    notification = _claim(notification_id)
    if notification is None:
        return "skipped"
    if notification.incident.status != IncidentStatus.TRIGGERED:
        _finish(notification, status=NotificationStatus.CANCELLED)
        return "cancelled"
    started = time.monotonic()
    try:
        provider_id = channel_for(notification.kind).send(notification)
    except DeliveryError as error:
        _failed(notification, error)
        return "failed"
    duration = int((time.monotonic() - started) * 1000)
    _finish(
        notification, status=NotificationStatus.SENT, provider_id=provider_id, duration_ms=duration
    )
    what = f"{notification.get_kind_display()} sent to {notification.user}"
    timeline_add(incident=notification.incident, kind="notified", message=what)
    return "sent"


def sweep() -> dict[str, int]:
    """Re-find due work whose task was lost: escalations, notifications, dead claims."""
    now = timezone.now()
    due = Incident.objects.filter(status=IncidentStatus.TRIGGERED, escalation_due_at__lte=now)
    escalated = sum(1 for pk in due.values_list("pk", flat=True)[:500] if incident_escalate(pk))
    revived = Notification.objects.filter(
        status=NotificationStatus.SENDING, sent_at__lt=now - STALE_SENDING
    ).update(status=NotificationStatus.PENDING)
    late = Notification.objects.filter(
        status=NotificationStatus.PENDING, due_at__lte=now - SWEEP_GRACE
    ).values_list("pk", flat=True)[:500]
    for pk in late:
        enqueue("paging.deliver", pk)
    missed = heartbeats_check()
    if escalated or revived or late or missed:
        log.info(
            "sweep: %d escalated, %d revived, %d late, %d heartbeats missed",
            *(escalated, revived, len(late), missed),
        )
    return {"escalated": escalated, "revived": revived, "late": len(late), "missed": missed}
