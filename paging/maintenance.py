"""Maintenance windows: when a service's maintenance ends, and holding pages until then.

Kept apart from the engine so that delivery can hold a page without importing the engine.
"""

import datetime as dt

from django.db.models import Exists, OuterRef

from paging.actions import timeline_add
from paging.models import MaintenanceWindow, Notification, NotificationStatus
from paging.queue import deliver_later

HELD = "held: service in maintenance"


def maintenance_until(service_id: int, now: dt.datetime) -> dt.datetime | None:
    """Return when the service's maintenance covering `now` ends (windows joined), or None."""
    windows = MaintenanceWindow.objects.filter(service_id=service_id, ends_at__gt=now)
    spans = sorted(windows.values_list("starts_at", "ends_at"))
    end = None
    for starts_at, ends_at in spans:
        if starts_at <= (end or now) and ends_at > (end or now):
            end = ends_at
    return end


def in_maintenance(service: str, now: dt.datetime) -> Exists:
    """Return an expression: is the service at `service` (a field path) in maintenance at `now`."""
    windows = MaintenanceWindow.objects.filter(
        service_id=OuterRef(service), starts_at__lte=now, ends_at__gt=now
    )
    return Exists(windows)


def notification_hold(notification: Notification, now: dt.datetime) -> dt.datetime | None:
    """Put a claimed page back until its service's maintenance ends; return when, or None."""
    until = maintenance_until(notification.incident.service_id, now)
    if until is None:
        return None
    when = f"{until:%Y-%m-%d %H:%M:%S} UTC"
    notification.status, notification.due_at = NotificationStatus.PENDING, until
    notification.attempts -= 1  # held, not tried
    notification.held_until = until
    notification.save(update_fields=["status", "due_at", "attempts", "held_until"])
    deliver_later(notification, eta=until)
    message = f"{notification.what} {HELD} until {when}"
    timeline_add(incident=notification.incident, kind="held", message=message)
    return until
