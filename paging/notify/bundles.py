"""Several pages for one number at the same moment go out as one SMS with one code for all.

`100A` acknowledges every incident in the bundle. Bundle codes start at 100 so they never meet
the per-incident codes (1, 2, 3 ...), and are given again only once none of their incidents is
open and the quarantine after the last one closed has ended (`reply_codes.py`).
"""

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from paging.maintenance import in_maintenance
from paging.models import (
    ContactKind,
    Incident,
    IncidentStatus,
    Notification,
    NotificationStatus,
    ReplyBundle,
    ReplyCode,
)
from paging.notify.reply_codes import bundle_codes_expire

FIRST_CODE = 100
MAX_BUNDLE = 10


def bundle_claim(notification: Notification, now: dt.datetime) -> list[Notification]:
    """Claim the other due SMS pages to the same number; return them (claimed by us).

    Pages unsure whether an earlier send went out are left to their own attempt, which asks
    the provider first.
    """
    if not settings.PAGING_SMS_BUNDLE or notification.incident_id is None:
        return []  # a handoff notice is an SMS of its own, never part of a bundle of pages
    candidates = (
        Notification.objects.filter(
            kind=ContactKind.SMS,
            address=notification.address,
            status=NotificationStatus.PENDING,
            unsure_since__isnull=True,
            due_at__lte=now,
            incident__status=IncidentStatus.TRIGGERED,
        )
        .filter(~in_maintenance("incident__service_id", now))  # those wait for the window's end
        .exclude(pk=notification.pk)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[: MAX_BUNDLE - 1]
    )
    return _claim_each(list(candidates), now, unsure_since__isnull=True)


def bundle_mates_claim(notification: Notification, now: dt.datetime) -> list[Notification]:
    """Claim the pages that went out in the same unsure bundled SMS as `notification`."""
    if notification.bundle_key is None:
        return []
    unsure = {"bundle_key": notification.bundle_key, "unsure_since__isnull": False}
    mates = Notification.objects.filter(status=NotificationStatus.PENDING, **unsure)
    mates = mates.exclude(pk=notification.pk).values_list("pk", flat=True)
    return _claim_each(list(mates), now, **unsure)


def _claim_each(pks: list[int], now: dt.datetime, **still: object) -> list[Notification]:
    """Claim each pending page of `pks` that still matches `still`; return those we got."""
    claimed = [
        pk
        for pk in pks
        if Notification.objects.filter(pk=pk, status=NotificationStatus.PENDING, **still).update(
            status=NotificationStatus.SENDING, attempts=F("attempts") + 1, sent_at=now
        )
    ]
    rows = Notification.objects.select_related("incident__service", "user").filter(pk__in=claimed)
    return list(rows.order_by("id"))


def bundle_code(*, phone: str, incidents: list[Incident]) -> int:
    """Return a fresh bundle code for `phone` naming `incidents`."""
    bundle_codes_expire(now=timezone.now(), phone=phone)
    for _ in range(10):
        used = set(ReplyBundle.objects.filter(phone=phone).values_list("code", flat=True))
        code = next(n for n in range(FIRST_CODE, FIRST_CODE + len(used) + 1) if n not in used)
        try:
            with transaction.atomic():
                bundle = ReplyBundle.objects.create(phone=phone, code=code)
                bundle.incidents.add(*incidents)
            return code
        except IntegrityError:
            continue  # another worker took the code; look again
    raise RuntimeError(f"no free bundle code for {len(incidents)} incidents")


def bundle_items(phone: str, incidents: list[Incident]) -> list[tuple[int, str, str, int]]:
    """Return (number, service, summary, reply code) for each incident, for `sms_bundle`."""
    codes = dict(
        ReplyCode.objects.filter(phone=phone, incident__in=incidents).values_list(
            "incident_id", "code"
        )
    )
    return [(i.pk, i.service.name, i.summary, codes.get(i.pk, 0)) for i in incidents]
