"""The age cap: entries older than AUDIT_LOG_MAX_AGE are deleted; without it, none ever are."""

import datetime as dt

from django.conf import settings

from audit.models import AuditEntry

# Deleted this many at a time, so a first prune of years of entries holds no long lock.
BATCH = 5000


def audit_prune(now: dt.datetime) -> int:
    """Delete the entries older than the age cap; return how many went."""
    max_age = settings.AUDIT_LOG_MAX_AGE
    if not max_age:
        return 0
    old = AuditEntry.objects.filter(timestamp__lt=now - max_age)
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:BATCH]):
        deleted += AuditEntry.objects.filter(pk__in=ids).delete()[0]
    return deleted
