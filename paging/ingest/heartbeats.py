"""Heartbeats: a job pings its URL; silence past the interval plus grace opens an incident."""

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from paging.actions import incident_resolve
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import OPEN_STATUSES, Incident, Integration, IntegrationKind


def dedup_key(integration: Integration) -> str:
    return f"heartbeat:{integration.pk}"


@transaction.atomic
def heartbeat_ping(*, integration: Integration) -> Incident | None:
    """Record a ping; resolve the missed-heartbeat incident if one is open. Return it."""
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(last_ping_at=now)
    incident = Incident.objects.filter(
        service=integration.service, dedup_key=dedup_key(integration), status__in=OPEN_STATUSES
    ).first()
    if incident is not None:
        incident_resolve(incident=incident, by=None, via=f"heartbeat {integration.name}")
    return incident


def _overdue(integration: Integration, now: dt.datetime) -> bool:
    last = integration.last_ping_at or integration.created_at
    return last + integration.heartbeat_interval + integration.heartbeat_grace < now


def _missed(integration: Integration) -> Event:
    last = integration.last_ping_at
    since = f"since {last:%Y-%m-%d %H:%M:%S} UTC" if last else "since it was created"
    summary = f"No heartbeat from {integration.name} {since}"
    return Event(action="trigger", summary=summary, dedup_key=dedup_key(integration))


def _last_reported(beats: list[Integration]) -> dict[tuple[int, str], dt.datetime]:
    """Return when each heartbeat's latest incident opened, keyed by (service, dedup key)."""
    found = (
        Incident.objects.filter(dedup_key__in=[dedup_key(b) for b in beats])
        .values("service_id", "dedup_key")
        .annotate(last=Max("created_at"))
    )
    return {(row["service_id"], row["dedup_key"]): row["last"] for row in found}


def heartbeats_check() -> int:
    """Open an incident for each heartbeat that missed its deadline; return how many."""
    now = timezone.now()
    beats = Integration.objects.filter(kind=IntegrationKind.HEARTBEAT, enabled=True)
    overdue = [b for b in beats.select_related("service") if _overdue(b, now)]
    reported = _last_reported(overdue) if overdue else {}
    opened = 0
    for integration in overdue:
        # One incident per silence: once resolved by hand it stays resolved until the next ping.
        since = integration.last_ping_at or integration.created_at
        last = reported.get((integration.service_id, dedup_key(integration)))
        if last is None or last < since:
            alert_ingest(integration=integration, event=_missed(integration), payload={})
            opened += 1
    return opened
