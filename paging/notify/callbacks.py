"""Provider status callbacks: move a sent notification to delivered or failed, and say so.

Only a notification in `sent` moves: a late, repeated or out-of-order callback changes nothing.
A bundled SMS is one provider message for several notifications; each of them moves.

A callback can outrun the provider's answer to our own send: it then names a SID the worker has
not recorded yet. Such a callback is kept (`EarlyCallback`) while its notification is still being
sent, and applied by the worker when it records that SID; Twilio does not reliably call again.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from paging.actions import timeline_add
from paging.models import (
    ContactKind,
    EarlyCallback,
    IncidentStatus,
    Notification,
    NotificationStatus,
)
from paging.notify.contacts import phone_sms_stop
from paging.notify.failover import next_method_now
from paging.notify.voice import answered_by_machine, machine_words
from paging.queue import deliver_later

SMS_FINAL = {
    "delivered": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.FAILED,
    "failed": NotificationStatus.FAILED,
}
CALL_FAILED = {"busy", "no-answer", "failed", "canceled"}
UNSUBSCRIBED = "21610"
EARLY_CALLBACK_KEPT = dt.timedelta(days=1)

log = logging.getLogger(__name__)


def notification_status_record(
    *,
    notification_id: int,
    sid: str,
    status: str,
    error_code: str = "",
    seconds: str = "",
    answered_by: str = "",
) -> bool:
    """Record a provider's status for message or call `sid`; return whether it was ours.

    `answered_by` is a call's AnsweredBy (answering machine detection): voicemail or a fax is
    no page delivered. A callback on a send whose SID is not recorded yet is kept for then.
    """
    if not sid:
        return False
    pks = _sent_as(sid)
    if notification_id not in pks:
        early = EarlyCallback(
            notification_id=notification_id,
            sid=sid,
            status=status[:32],
            error_code=error_code[:16],
            seconds=seconds[:16],
            answered_by=answered_by[:32],
        )
        if _kept_early(early):
            return True
        pks = _sent_as(sid)  # the worker may have recorded the SID meanwhile
        if notification_id not in pks:
            return False
    for pk in pks:
        _record(pk, status, error_code, seconds, answered_by)
    return True


def _sent_as(sid: str) -> list[int]:
    return list(Notification.objects.filter(provider_id=sid).values_list("pk", flat=True))


def _in_flight(notification: Notification) -> bool:
    """Return whether a send of `notification` may be out with its SID not recorded yet."""
    if notification.status == NotificationStatus.SENDING:
        return True
    # Put back after a send whose outcome we never learned: a lookup may yet record its SID.
    return (
        notification.status == NotificationStatus.PENDING and notification.unsure_since is not None
    )


@transaction.atomic
def _kept_early(early: EarlyCallback) -> bool:
    """Keep a callback on a send whose SID is not recorded yet; return whether it was kept.

    The row lock orders this with the worker's recording of the SID, which updates the same
    row: either the worker then finds this callback, or this finds the SID recorded.
    """
    rows = Notification.objects.select_for_update()
    notification = rows.filter(pk=early.notification_id).first()
    if notification is None or not _in_flight(notification) or len(early.sid) > 64:
        return False
    early.save()
    log.info("kept an early status callback for notification %d", notification.pk)
    return True


def early_callbacks_apply(batch: list[Notification], sid: str) -> None:
    """Apply the callbacks kept for `batch` that name `sid`, in the order they came.

    Call in the transaction that records `sid` on every notification of `batch` (the pages of
    one send). Kept callbacks naming another SID were about no send of theirs: dropped.
    """
    kept = list(EarlyCallback.objects.filter(notification__in=[n.pk for n in batch]))
    if not kept:
        return  # the usual case: one query on every send, nothing to apply or delete
    for early in kept:  # in the order they came (the model's ordering)
        if early.sid != sid:
            continue
        for notification in batch:
            _record(
                notification.pk, early.status, early.error_code, early.seconds, early.answered_by
            )
    EarlyCallback.objects.filter(pk__in=[early.pk for early in kept]).delete()


def early_callbacks_expire(now: dt.datetime) -> int:
    """Delete kept callbacks whose SID was never recorded within a day; return how many."""
    old = EarlyCallback.objects.filter(received_at__lt=now - EARLY_CALLBACK_KEPT)
    return old.delete()[0]


@transaction.atomic
def _record(pk: int, status: str, error_code: str, seconds: str, answered_by: str = "") -> None:
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .select_related("incident__service", "user")
        .get(pk=pk)
    )
    if notification.status != NotificationStatus.SENT or not status:
        return
    notification.provider_status = status[:16]
    if notification.kind == ContactKind.VOICE and answered_by_machine(answered_by):
        _call_machine(notification, answered_by)
    elif notification.kind == ContactKind.VOICE:
        _call_status(notification, status, seconds)
    else:
        _message_status(notification, status, error_code)
    notification.save()


def _message_status(notification: Notification, status: str, error_code: str) -> None:
    new = SMS_FINAL.get(status)
    if new is None:
        return  # queued, sending, sent: the row already says sent
    notification.status = new
    if new == NotificationStatus.DELIVERED:
        message = f"{notification.what} delivered"
        timeline_add(incident=notification.incident, kind="delivered", message=message)
        return
    if error_code == UNSUBSCRIBED:
        phone_sms_stop(phone=notification.address)
    notification.error = f"Twilio error {error_code}" if error_code else status
    why = f"{notification.what} {status}" + (f" (Twilio error {error_code})" if error_code else "")
    next_method_now(notification, why)


def _call_status(notification: Notification, status: str, seconds: str) -> None:
    incident = notification.incident
    if status == "in-progress":
        message = f"{notification.what} answered"
        timeline_add(incident=incident, kind="answered", message=message)
    elif status == "completed":
        notification.status = NotificationStatus.DELIVERED
        length = f" ({seconds} s)" if seconds.isdigit() else ""
        message = f"{notification.what} completed{length}"
        timeline_add(incident=incident, kind="delivered", message=message)
    elif status in CALL_FAILED:
        _call_failed(notification, status)


def _call_machine(notification: Notification, answered_by: str) -> None:
    """Voicemail or a fax answered: no page delivered, so do as for an unanswered call."""
    notification.provider_status = answered_by[:16]
    _call_failed(notification, f"answered by {machine_words(answered_by)} ({answered_by})")


def _call_failed(notification: Notification, status: str) -> None:
    """Call again if settings allow and the incident still needs it; else fall over."""
    why = f"{notification.what} {status}"
    notification.error = status
    if (
        notification.redials < settings.PAGING_VOICE_REDIALS
        and notification.incident.status == IncidentStatus.TRIGGERED
    ):
        again = timezone.now() + dt.timedelta(seconds=settings.PAGING_VOICE_REDIAL_SECONDS)
        notification.status, notification.due_at = NotificationStatus.PENDING, again
        notification.redials += 1
        deliver_later(notification, eta=again, on_commit=True)
        message = f"{why}; calling again at {again:%H:%M:%S} UTC"
        timeline_add(incident=notification.incident, kind="redial", message=message)
        return
    notification.status = NotificationStatus.FAILED
    next_method_now(notification, why)
