"""State changes on incidents: each a keyword-only function in one transaction."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import access
from accounts.models import User
from escalation.planner import Position, next_position
from oncall.limits import Limited, window_words
from paging.models import (
    OPEN_STATUSES,
    Incident,
    IncidentStatus,
    Notification,
    NotificationStatus,
    TimelineEntry,
)
from paging.queue import enqueue_on_commit

log = logging.getLogger(__name__)


def timeline_add(
    *, incident: Incident | None, kind: str, message: str, actor: User | None = None
) -> None:
    """Write one timeline entry on the incident, and log it for operators.

    A handoff notice's message, delivered like a page, has no incident: it is only logged (the
    notification row is its record).
    """
    if incident is None:
        log.info("handoff notice: %s", message)
        return
    TimelineEntry.objects.create(incident=incident, kind=kind, message=message, actor=actor)
    log.info("incident #%s: %s", incident.pk, message)


def act_refusal(*, incident: Incident, by: User) -> str | None:
    """Return why `by` may not act on `incident` ("You may not act on #12 payments"), or None.

    accounts.access decides; the SMS, call and e-mail faces ask here before they act. A call key
    or an e-mail link belongs to the page that reached its person, and whoever an incident paged
    may act on it, so those two are refused only if that rule changes; SMS codes and bundle
    codes name incidents by number and are refused in practice (a number now someone else's, a
    membership removed).
    """
    if access.may_act(by, incident):
        return None
    return f"You may not act on #{incident.pk} {incident.service.name}"


def _cancel_pending(incident: Incident) -> int:
    pending = [NotificationStatus.PENDING]
    return Notification.objects.filter(incident=incident, status__in=pending).update(
        status=NotificationStatus.CANCELLED
    )


def _who(by: User | None, via: str) -> str:
    return f"{by} via {via}" if by else via


@transaction.atomic
def incident_acknowledge(*, incident: Incident, by: User | None, via: str) -> bool:
    """Acknowledge a triggered incident: escalation stops, pending pages are cancelled.

    Returns False (and changes nothing) when the incident is not triggered.
    """
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.status != IncidentStatus.TRIGGERED:
        return False
    locked.status = IncidentStatus.ACKNOWLEDGED
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = by
    locked.acknowledged_via = via[:64]
    locked.escalation_due_at = None
    locked.save()
    cancelled = _cancel_pending(locked)
    note = f"; {cancelled} pending notification(s) cancelled" if cancelled else ""
    timeline_add(
        incident=locked,
        kind="acknowledged",
        message=f"Acknowledged by {_who(by, via)}{note}",
        actor=by,
    )
    incident.refresh_from_db()
    return True


@transaction.atomic
def incident_resolve(*, incident: Incident, by: User | None, via: str) -> bool:
    """Resolve an open incident: escalation stops, pending pages are cancelled.

    Its reply codes stay with it through their quarantine (`reply_codes.py`), so a late reply
    naming it is told it is resolved. Returns False (and changes nothing) when the incident is
    already resolved.
    """
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.status == IncidentStatus.RESOLVED:
        return False
    locked.status = IncidentStatus.RESOLVED
    locked.resolved_at = timezone.now()
    locked.resolved_by = by
    locked.resolved_via = via[:64]
    locked.escalation_due_at = None
    locked.save()
    _cancel_pending(locked)
    timeline_add(incident=locked, kind="resolved", message=f"Resolved by {_who(by, via)}", actor=by)
    incident.refresh_from_db()
    return True


def _out_of_steps(incident: Incident) -> bool:
    """Return whether the incident's policy has no step left after its current position."""
    if incident.escalation_tier is None:
        return False
    policy = incident.service.escalation_policy
    current = Position(tier=incident.escalation_tier, loop=incident.escalation_loop)
    return next_position(policy.shape(list(policy.tiers.all())), current) is None


def _restart(incident: Incident, now: dt.datetime) -> None:
    """Start a new round at Level 1, due now (its pages get new notification keys)."""
    incident.escalation_round += 1
    incident.escalation_tier, incident.escalation_loop = None, 0
    incident.escalation_due_at = now


def _untrigger_ack(incident: Incident) -> None:
    incident.status = IncidentStatus.TRIGGERED
    incident.acknowledged_at, incident.acknowledged_by, incident.acknowledged_via = None, None, ""


def _manual_escalation_claim(incident: Incident, now: dt.datetime) -> None:
    """Claim this incident's manual escalation for now, or raise Limited if it is too soon.

    A conditional UPDATE decides, so of many requests at once exactly one wins.
    """
    gap = settings.PAGING_MANUAL_ESCALATION_INTERVAL
    free = Q(last_manual_escalation_at__isnull=True) | Q(last_manual_escalation_at__lte=now - gap)
    rows = Incident.objects.filter(free, pk=incident.pk)
    if gap and not rows.update(last_manual_escalation_at=now):
        last = Incident.objects.values_list("last_manual_escalation_at", flat=True).get(
            pk=incident.pk
        )
        until = last + gap
        message = (
            f"#{incident.pk} was escalated by hand less than {window_words(gap)} ago; "
            f"try again after {until:%H:%M:%S} UTC"
        )
        raise Limited(message, what="incident", until=until)
    incident.last_manual_escalation_at = now


@transaction.atomic
def incident_escalate_now(*, incident: Incident, by: User | None, via: str) -> bool:
    """Page the next tier now; an acknowledged incident is re-triggered first.

    After the last step of the policy, escalation starts again at Level 1. Returns False (and
    changes nothing) for a resolved incident or one without a policy; raises Limited (and
    changes nothing) when it was escalated by hand too recently.
    """
    locked = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("service__escalation_policy")
        .get(pk=incident.pk)
    )
    if locked.status == IncidentStatus.RESOLVED or not locked.service.escalation_policy_id:
        return False
    now = timezone.now()
    _manual_escalation_claim(locked, now)
    note = ""
    if locked.status == IncidentStatus.ACKNOWLEDGED:
        _untrigger_ack(locked)
        note = " (re-triggered from acknowledged)"
    if _out_of_steps(locked):
        _restart(locked, now)
        note += "; the policy had run out, so it starts again at Level 1"
    locked.escalation_due_at = now
    locked.save()
    timeline_add(
        incident=locked,
        kind="escalated",
        message=f"Escalated by {_who(by, via)}{note}",
        actor=by,
    )
    enqueue_on_commit("paging.escalate", locked.pk)
    incident.refresh_from_db()
    return True


# Why each action changed nothing, in the words the API's 409 and admin's message use.
REFUSALS = {
    "acknowledge": "incident is {status}; only a triggered one can be acknowledged",
    "resolve": "incident is already {status}",
    "escalate": "incident is {status} or its service has no escalation policy",
}


def incident_actions_allowed(incident: Incident) -> tuple[str, ...]:
    """Return which of acknowledge, resolve and escalate the incident's state allows now."""
    if incident.status == IncidentStatus.RESOLVED:
        return ()
    allowed = ("acknowledge",) if incident.status == IncidentStatus.TRIGGERED else ()
    escalate = ("escalate",) if incident.service.escalation_policy_id else ()
    return (*allowed, "resolve", *escalate)


@transaction.atomic
def incident_ack_expire(*, incident_id: int, now: dt.datetime) -> bool:
    """Return an acknowledged incident whose service's ack timeout has run out to triggered.

    Escalation restarts at Level 1. Returns False when it is not (or no longer) due, or another
    worker holds it.
    """
    locked = (
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("service")
        .filter(pk=incident_id, status=IncidentStatus.ACKNOWLEDGED)
        .first()
    )
    timeout = locked.service.ack_timeout if locked else None
    if timeout is None or locked.acknowledged_at + timeout > now:
        return False
    _untrigger_ack(locked)
    if locked.service.escalation_policy_id:
        _restart(locked, now)
        enqueue_on_commit("paging.escalate", locked.pk)
    locked.save()
    message = f"Acknowledgement expired after {timeout}: triggered again"
    if locked.escalation_due_at is not None:
        message += ", escalation restarts at Level 1"
    timeline_add(incident=locked, kind="ack_expired", message=message)
    return True


@transaction.atomic
def incident_auto_resolve(*, incident_id: int, now: dt.datetime) -> bool:
    """Resolve an open incident that has had no new alert for its service's auto-resolve time.

    Returns False when it is not (or no longer) due, or another worker holds it.
    """
    locked = (
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("service")
        .filter(pk=incident_id, status__in=OPEN_STATUSES)
        .first()
    )
    after = locked.service.auto_resolve_after if locked else None
    if after is None or (locked.last_alert_at or locked.created_at) + after > now:
        return False
    return incident_resolve(
        incident=locked, by=None, via=f"auto-resolve (no new alert for {after})"
    )
