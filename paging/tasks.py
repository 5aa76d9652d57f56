"""Celery tasks: thin wrappers that take ids and call the engine."""

from celery import shared_task
from django.utils import timezone

from paging import engine
from paging.notify import delivery, handoffs, replies


@shared_task(name="paging.escalate")
def escalate(incident_id: int) -> None:
    """Run the incident's due escalation step, sending its first pages from here."""
    engine.incident_escalate(incident_id, send_now=engine.SEND_NOW)


@shared_task(name="paging.deliver")
def deliver(notification_id: int) -> str:
    """Send one due notification."""
    return delivery.notification_deliver(notification_id)


@shared_task(name="paging.sweep")
def sweep() -> dict[str, int]:
    """Pick up due work that a lost task missed."""
    return engine.sweep()


@shared_task(name="paging.handoff_notices")
def handoff_notices() -> dict[str, int]:
    """Tell people whose shift just started (Celery beat runs this every minute)."""
    return handoffs.handoffs_send_due(timezone.now())


@shared_task(name="paging.replies_prune")
def replies_prune() -> dict[str, int]:
    """Forget handled inbound SMS and reply codes past their quarantine (beat: hourly)."""
    return replies.replies_prune(timezone.now())
