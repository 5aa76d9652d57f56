"""Fail over: after a page failed for good, the person's next contact method goes out now.

Its own module, below both delivery (a provider refused) and status callbacks (the carrier
reported a failure later), so that neither has to import the other.
"""

from django.utils import timezone

from paging.actions import timeline_add
from paging.models import IncidentStatus, Notification, NotificationStatus
from paging.queue import deliver_later


def next_method_now(notification: Notification, why: str) -> None:
    """After a failed page, send the person's next pending contact method at once; say so."""
    if notification.incident_id is None:
        return  # a handoff notice went through every method at once: its row says it failed
    now = timezone.now()
    later = (
        Notification.objects.filter(
            incident_id=notification.incident_id,
            user_id=notification.user_id,
            tier=notification.tier,
            loop=notification.loop,
            status=NotificationStatus.PENDING,
            due_at__gt=now,
        )
        .order_by("due_at", "id")
        .first()
    )
    incident = notification.incident
    if incident.status != IncidentStatus.TRIGGERED:
        timeline_add(incident=incident, kind="failed", message=why)
        return
    if later is None:
        note = f"; no other contact method left for {notification.user}"
        timeline_add(incident=incident, kind="failed", message=why + note)
        return
    Notification.objects.filter(pk=later.pk, status=NotificationStatus.PENDING).update(due_at=now)
    deliver_later(later, on_commit=True)
    note = f"; {later.what} goes out now instead of at {later.due_at:%H:%M:%S} UTC"
    timeline_add(incident=incident, kind="failed", message=why + note)
