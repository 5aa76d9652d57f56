"""Heartbeats: a job pings its URL; silence past the interval plus grace opens an incident."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from paging.actions import incident_resolve
from paging.ingest import alert_ingest
from paging.integrations import Event
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


def heartbeats_check() -> int:
    """Open an incident for each heartbeat that missed its deadline; return how many."""
    now = timezone.now()
    beats = Integration.objects.filter(kind=IntegrationKind.HEARTBEAT, enabled=True)
    opened = 0
    for integration in beats.select_related("service"):
        if not _overdue(integration, now):
            continue
        # One incident per silence: once resolved by hand it stays resolved until the next ping.
        since = integration.last_ping_at or integration.created_at
        reported = Incident.objects.filter(
            service=integration.service, dedup_key=dedup_key(integration), created_at__gte=since
        ).exists()
        if not reported:
            alert_ingest(integration=integration, event=_missed(integration), payload={})
            opened += 1
    return opened
