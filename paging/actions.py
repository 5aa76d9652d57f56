"""State changes on incidents: each a keyword-only function in one transaction."""

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from paging.models import (
    Incident,
    IncidentStatus,
    Notification,
    NotificationStatus,
    ReplyCode,
    TimelineEntry,
)
from paging.queue import enqueue_on_commit

log = logging.getLogger(__name__)


def timeline_add(*, incident: Incident, kind: str, message: str, actor: User | None = None) -> None:
    """Write one timeline entry on the incident, and log it for operators."""
    TimelineEntry.objects.create(incident=incident, kind=kind, message=message, actor=actor)
    log.info("incident #%s: %s", incident.pk, message)


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
    """Resolve an open incident: escalation stops, pending pages are cancelled, codes freed.

    Returns False (and changes nothing) when the incident is already resolved.
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
    ReplyCode.objects.filter(incident=locked).delete()
    timeline_add(incident=locked, kind="resolved", message=f"Resolved by {_who(by, via)}", actor=by)
    incident.refresh_from_db()
    return True


@transaction.atomic
def incident_escalate_now(*, incident: Incident, by: User | None, via: str) -> bool:
    """Page the next tier now; an acknowledged incident is re-triggered first.

    Returns False (and changes nothing) for a resolved incident or one without a policy.
    """
    locked = Incident.objects.select_for_update().select_related("service").get(pk=incident.pk)
    if locked.status == IncidentStatus.RESOLVED or not locked.service.escalation_policy_id:
        return False
    note = ""
    if locked.status == IncidentStatus.ACKNOWLEDGED:
        locked.status = IncidentStatus.TRIGGERED
        locked.acknowledged_at, locked.acknowledged_by, locked.acknowledged_via = None, None, ""
        note = " (re-triggered from acknowledged)"
    locked.escalation_due_at = timezone.now()
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
