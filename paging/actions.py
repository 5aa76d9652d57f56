"""State changes on incidents: each a keyword-only function in one transaction."""

import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from paging.integrations import Event
from paging.models import (
    Alert,
    Incident,
    IncidentStatus,
    Integration,
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


def _open_incident(*, integration: Integration, event: Event, dedup_key: str) -> Incident:
    """Return the open incident for the dedup key, opening one if there is none."""
    service = integration.service
    existing = (
        Incident.objects.select_for_update()
        .filter(service=service, dedup_key=dedup_key, status__in=["triggered", "acknowledged"])
        .first()
    )
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                service=service,
                dedup_key=dedup_key,
                summary=event.summary,
                severity=event.severity,
                details=event.details,
                escalation_due_at=now if service.escalation_policy_id else None,
            )
    except IntegrityError:
        # Another request opened it between our look-up and our insert: join that one.
        return Incident.objects.select_for_update().get(
            service=service, dedup_key=dedup_key, status__in=["triggered", "acknowledged"]
        )
    timeline_add(incident=incident, kind="triggered", message=f"Triggered by {integration.name}")
    if incident.escalation_due_at is not None:
        enqueue_on_commit("paging.escalate", incident.pk)
    else:
        timeline_add(incident=incident, kind="not_paged", message="Service has no policy")
    return incident


def _record_alert(*, incident: Incident, integration: Integration, event: Event, payload) -> None:
    Alert.objects.create(
        incident=incident,
        integration=integration,
        action=event.action,
        summary=event.summary or incident.summary,
        severity=event.severity,
        payload=payload,
    )
    incident.alert_count += 1
    incident.last_alert_at = timezone.now()
    incident.save(update_fields=["alert_count", "last_alert_at"])


@transaction.atomic
def alert_ingest(*, integration: Integration, event: Event, payload: object) -> Incident | None:
    """Store one event: trigger opens or joins an incident, acknowledge/resolve act on it.

    Returns the incident, or None for an acknowledge/resolve that matches no open incident.
    """
    if event.action == "trigger":
        dedup_key = event.dedup_key or uuid.uuid4().hex
        incident = _open_incident(integration=integration, event=event, dedup_key=dedup_key)
    else:
        incident = (
            Incident.objects.select_for_update()
            .filter(service=integration.service, dedup_key=event.dedup_key)
            .filter(status__in=["triggered", "acknowledged"])
            .first()
        )
        if incident is None:
            return None
    _record_alert(incident=incident, integration=integration, event=event, payload=payload)
    via = f"integration {integration.name}"
    if event.action == "acknowledge":
        incident_acknowledge(incident=incident, by=None, via=via)
    elif event.action == "resolve":
        incident_resolve(incident=incident, by=None, via=via)
    return incident


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
    locked.escalation_due_at = None
    locked.save()
    _cancel_pending(locked)
    ReplyCode.objects.filter(incident=locked).delete()
    timeline_add(incident=locked, kind="resolved", message=f"Resolved by {_who(by, via)}", actor=by)
    incident.refresh_from_db()
    return True
