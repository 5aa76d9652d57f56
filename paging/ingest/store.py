"""Storing alerts: open or join an incident, fold alert storms, upsert alerts by fingerprint.

Everything for one payload happens in the caller's transaction; paging work is enqueued only
after it commits, so the 202 answer means the alert is stored for good.
"""

import contextlib
import dataclasses
import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from paging.actions import incident_acknowledge, incident_resolve, timeline_add
from paging.ingest import store_pg
from paging.ingest.formats import AlertRecord, Event
from paging.models import ADDED_QUIET, OPEN_STATUSES, Alert, Incident, Integration, Service, Urgency
from paging.queue import enqueue_on_commit

log = logging.getLogger(__name__)

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


def opening_notes(integration: Integration, *, storm: bool) -> list[dict[str, str]]:
    """Return the timeline entries an incident opens with."""
    service = integration.service
    if storm:
        message = (
            f"Alert storm: more than {service.storm_cap} incidents opened within "
            f"{service.storm_window}; new alerts fold into this incident"
        )
    else:
        message = f"Triggered by {integration.name}"
    notes = [{"kind": "triggered", "message": message}]
    if not service.escalation_policy_id:
        notes.append({"kind": "not_paged", "message": "Service has no policy"})
    return notes


def _opened(incident: Incident, integration: Integration, *, storm: bool) -> None:
    for note in opening_notes(integration, storm=storm):
        timeline_add(incident=incident, **note)
    if incident.escalation_due_at is not None:
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


def added_suffix(integration: Integration, event: Event) -> str:
    """Return the end of an "Alert added" timeline entry: who sent it, and what it says."""
    summary = event.alerts[-1].summary if event.alerts else event.summary
    return f" by {integration.name}" + (f": {summary[:900]}" if summary else "")


def _added(incident: Incident, integration: Integration, event: Event, new: int) -> None:
    recent = incident.timeline.filter(
        kind="alert_added", at__gt=timezone.now() - ADDED_QUIET
    ).exists()
    if recent:
        return  # a flood of repeats shows in the alert count, not as a flood of entries
    what = f"{new} alerts added" if new > 1 else "Alert added"
    message = what + added_suffix(integration, event)
    timeline_add(incident=incident, kind="alert_added", message=message)


def record_payload(record: AlertRecord) -> dict:
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
        alert.payload = record_payload(record)
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


def _fast_trigger(integration: Integration, event: Event, payload: object) -> int | None:
    """Join or open the incident in one statement each; None when only the ORM path can."""
    now, key = timezone.now(), event.dedup_key
    rows = store_pg.alert_rows(event, payload, record_payload)
    if key:
        joined = store_pg.join(
            integration=integration,
            key=key,
            rows=rows,
            message=added_suffix(integration, event),
            now=now,
        )
        if joined is not None:
            return joined[0]
    else:
        key = uuid.uuid4().hex
    service = integration.service
    if _in_storm(service, now):
        return None
    due = now if service.escalation_policy_id else None
    opened = store_pg.open_incident(
        integration=integration,
        key=key,
        event=event,
        urgency=urgency_for(service, event.severity),
        rows=rows,
        notes=opening_notes(integration, storm=False),
        now=now,
        due=due,
    )
    if opened is not None:
        log.info("incident #%s: Triggered by %s", opened, integration.name)
        if due is not None:
            enqueue_on_commit("paging.escalate", opened)
    return opened


def events_store(*, integration: Integration, events: list[Event], payload: object) -> list:
    """Store a payload's events; return each one's incident id (None: nothing matched).

    Triggers on PostgreSQL take the one-statement fast path; everything else (acknowledge,
    resolve, alert storms, races, SQLite) the ORM path. Several events share one transaction.
    """
    fast = settings.INGEST_FAST_PATH and connection.vendor == "postgresql"
    with transaction.atomic() if len(events) > 1 else contextlib.nullcontext():
        ids = []
        for event in events:
            found = None
            if fast and event.action == "trigger":
                found = _fast_trigger(integration, event, payload)
            if found is None:
                incident = alert_ingest(integration=integration, event=event, payload=payload)
                found = incident.pk if incident is not None else None
            ids.append(found)
        return ids
