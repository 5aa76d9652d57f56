"""Celery tasks of schedules: thin wrappers around `imports`."""

from celery import shared_task
from django.utils import timezone

from schedules import imports


@shared_task(name="schedules.refresh_calendars")
def refresh_calendars() -> dict[str, int]:
    """Refresh the imported calendars that are due (Celery beat runs this every minute)."""
    return imports.calendars_refresh_due(timezone.now())
