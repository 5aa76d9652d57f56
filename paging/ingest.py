"""Storing alerts: open or join an incident, fold alert storms, upsert alerts by fingerprint.

Everything for one payload happens in the caller's transaction; paging work is enqueued only
after it commits, so the 202 answer means the alert is stored for good.
"""

import dataclasses
import datetime as dt
import uuid

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from paging.actions import incident_acknowledge, incident_resolve, timeline_add
from paging.integrations import AlertRecord, Event
from paging.models import OPEN_STATUSES, Alert, Incident, Integration, Service, Urgency
from paging.queue import enqueue_on_commit

STORM_KEY = "alert-storm"


def urgency_for(service: Service, severity: str) -> str:
    """Return the service's urgency, or the one the severity implies."""
    if service.urgency:
        return service.urgency
    return Urgency.HIGH if severity in ("critical", "error") else Urgency.LOW


def _open(service: Service, dedup_key: str) -> Incident | None:
    return (
        Incident.objects.select_for_update(of=("self",))
        .filter(service=service, dedup_key=dedup_key, status__in=OPEN_STATUSES)
        .first()
    )


def _in_storm(service: Service, now: dt.datetime) -> bool:
    """Return whether the service already opened its cap of incidents within the window."""
    if not service.storm_cap:
        return False
    recent = Incident.objects.filter(
        service=service, status__in=OPEN_STATUSES, created_at__gte=now - service.storm_window
    ).exclude(dedup_key=STORM_KEY)
    return recent.count() >= service.storm_cap


def _create(service: Service, dedup_key: str, event: Event, now: dt.datetime) -> Incident | None:
    """Insert the incident, or return None if a concurrent request just opened it."""
    try:
        with transaction.atomic():
            return Incident.objects.create(
                service=service,
                dedup_key=dedup_key,
                summary=event.summary,
                severity=event.severity,
                urgency=urgency_for(service, event.severity),
                details=event.details,
                links=list(event.links),
                escalation_due_at=now if service.escalation_policy_id else None,
            )
    except IntegrityError:
        return None


def _storm_event(service: Service) -> Event:
    summary = f"Alert storm on {service.name}: further new alerts are folded into this incident"
    return Event(action="trigger", summary=summary, severity="critical")


def _opened(incident: Incident, integration: Integration, *, storm: bool) -> None:
    if storm:
        message = (
            f"Alert storm: more than {incident.service.storm_cap} incidents opened within "
            f"{incident.service.storm_window}; new alerts fold into this incident"
        )
    else:
        message = f"Triggered by {integration.name}"
    timeline_add(incident=incident, kind="triggered", message=message)
    if incident.escalation_due_at is None:
        timeline_add(incident=incident, kind="not_paged", message="Service has no policy")
    else:
        enqueue_on_commit("paging.escalate", incident.pk)


def _open_or_join(integration: Integration, event: Event, dedup_key: str) -> tuple[Incident, bool]:
    """Return the open incident for the key (open one, or fold into the storm incident).

    The flag says whether the incident was opened by this event.
    """
    service, now = integration.service, timezone.now()
    for _ in range(3):
        incident = _open(service, dedup_key)
        if incident is not None:
            return incident, False
        storm = _in_storm(service, now)
        if storm:
            incident = _open(service, STORM_KEY)
            if incident is not None:
                return incident, False
        key, opening = (STORM_KEY, _storm_event(service)) if storm else (dedup_key, event)
        incident = _create(service, key, opening, now)
        if incident is not None:
            _opened(incident, integration, storm=storm)
            return incident, True
    raise RuntimeError(f"could not open or join an incident for {dedup_key!r}")


def _added(incident: Incident, integration: Integration, event: Event, new: int) -> None:
    what = f"{new} alerts" if new > 1 else "Alert"
    summary = event.alerts[-1].summary if event.alerts else event.summary
    message = f"{what} added by {integration.name}" + (f": {summary}" if summary else "")
    timeline_add(incident=incident, kind="alert_added", message=message[:1000])


def _record_payload(record: AlertRecord) -> dict:
    if record.raw:
        return record.raw
    data = dataclasses.asdict(record)
    for name in ("starts_at", "ends_at"):
        data[name] = data[name].isoformat() if data[name] else None
    return data


def _upsert(incident: Incident, integration: Integration, event: Event, dedup_key: str) -> int:
    """Store each alert the event carries, updating known fingerprints; return how many are new."""
    known = {
        a.fingerprint: a
        for a in incident.alerts.filter(fingerprint__in=[r.fingerprint for r in event.alerts])
    }
    new = 0
    for record in event.alerts:
        alert = known.get(record.fingerprint) or Alert(
            incident=incident, integration=integration, fingerprint=record.fingerprint
        )
        new += alert.pk is None
        alert.action, alert.dedup_key, alert.status = event.action, dedup_key, record.status
        alert.summary, alert.severity = record.summary[:1024], record.severity
        alert.starts_at, alert.ends_at = record.starts_at, record.ends_at
        alert.payload = _record_payload(record)
        alert.save()
        known[record.fingerprint] = alert  # a fingerprint repeated in one payload updates
    return new


def _record(
    incident: Incident, integration: Integration, event: Event, dedup_key: str, payload: object
) -> int:
    """Store the event's alerts on the incident; return how many new alerts it added."""
    if event.alerts:
        new = _upsert(incident, integration, event, dedup_key)
    else:
        Alert.objects.create(
            incident=incident,
            integration=integration,
            action=event.action,
            dedup_key=dedup_key,
            status="resolved" if event.action == "resolve" else "firing",
            summary=event.summary[:1024] or incident.summary,
            severity=event.severity,
            payload=payload,
        )
        new = 1
    Incident.objects.filter(pk=incident.pk).update(
        alert_count=F("alert_count") + new, last_alert_at=timezone.now()
    )
    return new


@transaction.atomic
def alert_ingest(*, integration: Integration, event: Event, payload: object) -> Incident | None:
    """Store one event: trigger opens or joins an incident, acknowledge/resolve act on it.

    Returns the incident, or None for an acknowledge/resolve that matches no open incident
    (accepted, and nothing is done).
    """
    dedup_key = event.dedup_key or uuid.uuid4().hex
    opened = False
    if event.action == "trigger":
        incident, opened = _open_or_join(integration, event, dedup_key)
    else:
        incident = _open(integration.service, dedup_key)
        if incident is None:
            return None
    new = _record(incident, integration, event, dedup_key, payload)
    if new and not opened and event.action == "trigger":
        _added(incident, integration, event, new)
    via = f"integration {integration.name}"
    if event.action == "acknowledge":
        incident_acknowledge(incident=incident, by=None, via=via)
    elif event.action == "resolve":
        incident_resolve(incident=incident, by=None, via=via)
    return incident
