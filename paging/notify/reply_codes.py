"""Reply codes stay with their incident until `PAGING_REPLY_CODE_QUARANTINE` after it closes.

Codes are kept short by giving them again, but replies come late (read hours after the page,
or resent by a carrier): had a code gone to a newer incident as soon as its own incident
resolved, `1R` meant for the resolved one would resolve the newer one. So a closed incident
keeps its codes, and a reply naming it hears that it is already resolved, until the quarantine
ends; only then is the code given again. Bundle codes (`100A`) follow the same rule, counted
from the last of their incidents to close.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Count, Max, Q

from paging.models import OPEN_STATUSES, IncidentStatus, ReplyBundle, ReplyCode


def quarantine_start(now: dt.datetime) -> dt.datetime:
    """Return the instant before which a closed incident's codes may be given again."""
    return now - settings.PAGING_REPLY_CODE_QUARANTINE


def reply_codes_expire(*, now: dt.datetime, phone: str | None = None) -> int:
    """Free the codes (of `phone`, or all) whose incident closed before the quarantine began."""
    expired = ReplyCode.objects.filter(
        incident__status=IncidentStatus.RESOLVED, incident__resolved_at__lt=quarantine_start(now)
    )
    if phone is not None:
        expired = expired.filter(phone=phone)
    return expired.delete()[0]


def bundle_codes_expire(*, now: dt.datetime, phone: str | None = None) -> int:
    """Free the bundle codes (of `phone`, or all) whose last incident closed before then."""
    bundles = ReplyBundle.objects.all()
    if phone is not None:
        bundles = bundles.filter(phone=phone)
    bundles = bundles.alias(
        still_open=Count("incidents", filter=Q(incidents__status__in=OPEN_STATUSES)),
        closed=Max("incidents__resolved_at"),
    )
    # No incident left at all (deleted ones): nothing a reply could reach.
    ended = Q(closed__lt=quarantine_start(now)) | Q(closed__isnull=True)
    expired = list(bundles.filter(ended, still_open=0).values_list("pk", flat=True))
    ReplyBundle.objects.filter(pk__in=expired).delete()
    return len(expired)
