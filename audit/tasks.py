"""The audit log's housekeeping task (beat runs it hourly, see oncall/celery.py)."""

from celery import shared_task
from django.utils import timezone

from audit.retention import audit_prune


@shared_task(name="audit.prune")
def prune() -> int:
    """Delete audit log entries past AUDIT_LOG_MAX_AGE (none when it is unset)."""
    return audit_prune(timezone.now())
