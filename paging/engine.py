"""The escalation engine: advance due incidents and sweep lost work (delivery: `delivery.py`).

Each function claims its row first (`SELECT … FOR UPDATE SKIP LOCKED` or a conditional UPDATE),
so any number of workers, retried tasks and the sweeper can race without paging anyone twice.
"""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from escalation.models import Tier
from escalation.planner import Position, plan
from paging.actions import timeline_add
from paging.contacts import unusable_reason
from paging.delivery import notification_body
from paging.heartbeats import heartbeats_check
from paging.models import (
    ContactMethod,
    Incident,
    IncidentStatus,
    Notification,
    NotificationRule,
    NotificationStatus,
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


def _page_person(incident: Incident, user: User, position: Position, now: dt.datetime) -> list:
    """Write the person's notifications for this tier; return the new ones."""
    created = []
    for key, method, delay in person_rules(user):
        if reason := unusable_reason(method):
            what = f"{method.get_kind_display()} ({method.name})"
            message = f"{user} not paged by {what}: {reason}"
            timeline_add(incident=incident, kind="skipped", message=message)
            continue
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
                "body": notification_body(incident, method),
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
