"""Celery tasks of schedules: thin wrappers around `imports`."""

from celery import shared_task
from django.utils import timezone

from schedules import imports


# Each import is capped (CALENDAR_IMPORT_MAX_SECONDS, OUTBOUND_TIMEOUT_SECONDS); these limits
# stop a run of many calendars, or an expansion the per-import checks cannot interrupt.
@shared_task(name="schedules.refresh_calendars", soft_time_limit=240, time_limit=300)
def refresh_calendars() -> dict[str, int]:
    """Refresh the imported calendars that are due (Celery beat runs this every minute)."""
    return imports.calendars_refresh_due(timezone.now())
