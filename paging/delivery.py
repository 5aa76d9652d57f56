"""Delivery: write a notification's text, claim it when due, send it, record the outcome.

A notification row exists before any provider is called; a claim (a conditional UPDATE from
pending to sending) makes sure one worker sends it, whatever duplicate tasks or sweeps happen.
"""

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from paging.actions import timeline_add
from paging.channels import DeliveryError, channel_for
from paging.messages import sms_page
from paging.models import (
    ContactMethod,
    Incident,
    IncidentStatus,
    Notification,
    NotificationStatus,
    ReplyCode,
)
from paging.queue import enqueue

log = logging.getLogger(__name__)


def reply_code(*, phone: str, incident: Incident) -> int:
    """Return the SMS reply code of `incident` for `phone`: the smallest one free there."""
    for _ in range(10):
        held = ReplyCode.objects.filter(phone=phone)
        mine = held.filter(incident=incident).first()
        if mine is not None:
            return mine.code
        used = set(held.values_list("code", flat=True))
        code = next(n for n in range(1, len(used) + 2) if n not in used)
        try:
            with transaction.atomic():
                ReplyCode.objects.create(phone=phone, code=code, incident=incident)
            return code
        except IntegrityError:
            continue  # another worker took that code for another incident; look again
    raise RuntimeError(f"no free reply code for incident {incident.pk}")


def notification_body(incident: Incident, method: ContactMethod) -> str:
    code = reply_code(phone=method.address, incident=incident)
    return sms_page(
        number=incident.pk,
        severity=incident.severity,
        service=incident.service.name,
        summary=incident.summary,
        code=code,
    )


def _claim(notification_id: int) -> Notification | None:
    """Mark a due pending notification as sending; return it, or None if it is not ours."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=NotificationStatus.PENDING, due_at__lte=now
    ).update(status=NotificationStatus.SENDING, attempts=F("attempts") + 1, sent_at=now)
    if not claimed:
        return None
    return Notification.objects.select_related("incident__service", "user").get(pk=notification_id)


def _finish(notification: Notification, **fields: object) -> None:
    for name, value in fields.items():
        setattr(notification, name, value)
    notification.save(update_fields=list(fields))


def _failed(notification: Notification, error: DeliveryError) -> None:
    """Retry a transient failure with backoff, or fail for good."""
    attempts = notification.attempts
    if not error.permanent and attempts < settings.PAGING_DELIVERY_MAX_ATTEMPTS:
        retry_at = timezone.now() + dt.timedelta(seconds=min(2**attempts, 60))
        _finish(notification, status=NotificationStatus.PENDING, due_at=retry_at, error=str(error))
        enqueue("paging.deliver", notification.pk, eta=retry_at)
        return
    _finish(notification, status=NotificationStatus.FAILED, error=str(error))
    what = f"{notification.get_kind_display()} to {notification.user}"
    timeline_add(incident=notification.incident, kind="failed", message=f"{what} failed: {error}")


def notification_deliver(notification_id: int) -> str:
    """Send one due notification through its channel; return what happened."""
    notification = _claim(notification_id)
    if notification is None:
        return "skipped"
    if notification.incident.status != IncidentStatus.TRIGGERED:
        _finish(notification, status=NotificationStatus.CANCELLED)
        return "cancelled"
    started = time.monotonic()
    try:
        provider_id = channel_for(notification.kind).send(notification)
    except DeliveryError as error:
        _failed(notification, error)
        return "failed"
    duration = int((time.monotonic() - started) * 1000)
    _finish(
        notification, status=NotificationStatus.SENT, provider_id=provider_id, duration_ms=duration
    )
    what = f"{notification.get_kind_display()} sent to {notification.user}"
    timeline_add(incident=notification.incident, kind="notified", message=what)
    return "sent"
