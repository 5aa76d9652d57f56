"""Delivery: write a notification's text, claim it when due, send it, record the outcome.

A notification row exists before any provider is called; a claim (a conditional UPDATE from
pending to sending) makes sure one worker sends it, whatever duplicate tasks or sweeps happen.
SMS and calls to one number respect its carrier-safe limits (`limits.py`); SMS go out bundled
when several are due at once (`bundles.py`). A page that fails for good brings the person's next
contact method forward to now.
"""

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.people import unpageable_reason
from paging.actions import timeline_add
from paging.maintenance import in_maintenance, notification_hold
from paging.models import (
    ContactKind,
    ContactMethod,
    Incident,
    IncidentStatus,
    Notification,
    NotificationStatus,
    ReplyCode,
)
from paging.notify.bundles import bundle_claim, bundle_code, bundle_items, bundle_mates_claim
from paging.notify.callbacks import early_callbacks_apply
from paging.notify.channels import Channel, DeliveryError, channel_for, delivery_error
from paging.notify.channels.email import email_subject
from paging.notify.channels.twilio_client import UNSUBSCRIBED
from paging.notify.channels.webpush import SUBSCRIPTION_GONE
from paging.notify.contacts import phone_sms_stop, sms_stopped
from paging.notify.failover import next_method_now
from paging.notify.limits import PHONE_RATES, Hold, phone_slot_take
from paging.notify.messages import sms_bundle, sms_page
from paging.notify.push import push_subscription_drop
from paging.notify.reply_codes import reply_codes_expire
from paging.notify.voice import spoken_page
from paging.queue import deliver_later

log = logging.getLogger(__name__)

_SENT_WORDS = {
    ContactKind.SMS: "SMS sent to {user}",
    ContactKind.VOICE: "Voice call placed to {user}",
    ContactKind.EMAIL: "E-mail sent to {user}",
    ContactKind.PUSH: "Push notification delivered to {user}'s push service",
}
# A page the channel printed reached no one: the timeline says so, and why (every kind alike).
_PRINTED_WORDS = "{kind} printed on the console ({why}) for {user}"


def reply_code(*, phone: str, incident: Incident) -> int:
    """Return the SMS reply code of `incident` for `phone`: the smallest one free there.

    A code is taken while its incident is open and through its quarantine after it closes.
    """
    for _ in range(10):
        held = ReplyCode.objects.filter(phone=phone)
        mine = held.filter(incident=incident).first()
        if mine is not None:
            return mine.code
        reply_codes_expire(now=timezone.now(), phone=phone)
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
    """Return what the page says through `method`: SMS text, spoken words or e-mail subject
    (a push says the e-mail's subject too, with its action links added when it is sent)."""
    if method.kind == ContactKind.VOICE:
        return spoken_page(incident)
    if method.kind in (ContactKind.EMAIL, ContactKind.PUSH):
        return email_subject(incident)
    return sms_text(incident, method.address)


def sms_text(incident: Incident, phone: str) -> str:
    """Return the SMS that pages `incident` alone to `phone`, with its reply code there."""
    code = reply_code(phone=phone, incident=incident)
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
    rows = Notification.objects.select_related("incident__service", "user")
    # Whether its service is in maintenance, read in the same query (a rare hold then asks more).
    rows = rows.annotate(in_maintenance=in_maintenance("incident__service_id", now))
    return rows.get(pk=notification_id)


def _finish(notification: Notification, **fields: object) -> None:
    for name, value in fields.items():
        setattr(notification, name, value)
    notification.save(update_fields=list(fields))


def _failed(notification: Notification, error: DeliveryError) -> None:
    """Retry a transient failure with backoff, or fail for good and fall over."""
    if error.code == UNSUBSCRIBED:
        phone_sms_stop(phone=notification.address)
    if notification.kind == ContactKind.PUSH and error.code == SUBSCRIPTION_GONE:
        push_subscription_drop(notification)
        error = DeliveryError(f"{error}; the device was removed", permanent=True)
    attempts = notification.attempts
    if error.maybe_sent:
        notification.unsure_since = notification.sent_at  # ask the provider before a retry
    if not error.permanent and attempts < settings.PAGING_DELIVERY_MAX_ATTEMPTS:
        retry_at = timezone.now() + dt.timedelta(seconds=min(2**attempts, 60))
        _finish(
            notification,
            status=NotificationStatus.PENDING,
            due_at=retry_at,
            error=str(error),
            unsure_since=notification.unsure_since,
        )
        deliver_later(notification, eta=retry_at)
        return
    _finish(notification, status=NotificationStatus.FAILED, error=str(error))
    next_method_now(notification, f"{notification.what} failed: {error}")


def notification_abandon(notification_id: int) -> bool:
    """Fail a page whose worker died mid-send on its last attempt, and fall over; say so.

    A page that kills every worker that sends it (or keeps meeting dying workers) would
    otherwise be revived and sent again for ever.
    """
    abandoned = Notification.objects.filter(
        pk=notification_id, status=NotificationStatus.SENDING
    ).update(status=NotificationStatus.FAILED, error="its worker stopped mid-send")
    if not abandoned:
        return False  # finished meanwhile, or another sweep took it
    notification = Notification.objects.select_related("incident", "user").get(pk=notification_id)
    why = f"its worker stopped mid-send, and it has used its {notification.attempts} attempts"
    next_method_now(notification, f"{notification.what} failed: {why}")
    return True


def _defer(notification: Notification, hold: Hold) -> None:
    """Put an SMS or call back until its number may have one again (an SMS may go out bundled).

    A wait of more than a minute is worth a line on the timeline: why the page is late.
    """
    _finish(
        notification,
        status=NotificationStatus.PENDING,
        due_at=hold.until,
        attempts=notification.attempts - 1,
    )
    deliver_later(notification, eta=hold.until)
    if hold.until - timezone.now() > dt.timedelta(minutes=1):
        message = f"{notification.what} held back until {hold.until:%H:%M:%S} UTC: {hold.why}"
        timeline_add(incident=notification.incident, kind="held", message=message)


def _bundle(batch: list[Notification]) -> None:
    """Give every notification in `batch` the one bundled text, if it spans incidents."""
    incidents = list({n.incident_id: n.incident for n in batch}.values())
    if len(incidents) < 2:
        return
    phone = batch[0].address
    code = bundle_code(phone=phone, incidents=incidents)
    body = sms_bundle(bundle_items(phone, incidents), bundle_code=code)
    for notification in batch:
        notification.body = body


def _store_batch(batch: list[Notification]) -> None:
    """Store on every row what goes out and with which rows, before the provider has it.

    A send interrupted after the provider took it (its worker died, its answer was lost) is
    then looked up, and recorded, as the one send it was.
    """
    if len(batch) < 2:
        return  # a page sent alone, with the text written for it
    body, key = batch[0].body, uuid.uuid4()
    for notification in batch:
        notification.body, notification.bundle_key = body, key
    Notification.objects.filter(pk__in=[n.pk for n in batch]).update(body=body, bundle_key=key)


def _still_ours(batch: list[Notification]) -> bool:
    """Renew our claim on every page of `batch` just before the provider has it; False if lost.

    The sweeper takes a page back once its claim is older than the provider's bound plus a
    little (`sending_stale_after`), and another worker may then send it. A worker that stalled
    longer than that between its claim and its request (a slow database, a paused process) finds
    here that the page is no longer its own, and does not send it a second time. Renewing also
    restarts the stale clock where the request starts (after a lookup of an unsure send, say).
    """
    now = timezone.now()
    mine = Q()
    for notification in batch:
        mine |= Q(pk=notification.pk, attempts=notification.attempts)
    renewed = Notification.objects.filter(mine, status=NotificationStatus.SENDING)
    if renewed.update(sent_at=now) != len(batch):
        # Pages still ours stay "sending": the sweeper takes them back and asks the provider.
        log.warning("page %s was taken over while this worker stalled: not sent here", batch[0].pk)
        return False
    for notification in batch:
        notification.sent_at = now
    return True


def _send(batch: list[Notification]) -> str:
    """Send the first notification's text once; record the outcome on every one in `batch`."""
    primary = batch[0]
    channel = channel_for(primary.kind)
    _store_batch(batch)
    if not _still_ours(batch):
        return "taken over"
    started = time.monotonic()
    try:
        provider_id = channel.send(primary)
    except Exception as exc:  # whatever it is, the page is failed or retried, never left sending
        error = delivery_error(exc)
        for notification in batch:
            _failed(notification, error)
        return "failed"
    duration = int((time.monotonic() - started) * 1000)
    others = {n.incident_id for n in batch} - {primary.incident_id}

    def sent(notification: Notification) -> str:
        message = _sent_words(notification, channel)
        return message + (f" (one SMS for {len(others) + 1} incidents)" if others else "")

    _record_sent(batch, channel, provider_id, sent, duration_ms=duration)
    return "sent"


def _sent_words(notification: Notification, channel: Channel) -> str:
    """Return the timeline's words for `notification` gone out through `channel`."""
    why = channel.printed_because()
    words = _PRINTED_WORDS if why else _SENT_WORDS.get(notification.kind, "{kind} sent to {user}")
    kind = notification.get_kind_display()
    return words.format(user=notification.user, kind=kind, why=why)


def _record_sent(
    batch: list[Notification],
    channel: Channel,
    provider_id: str,
    message: Callable[[Notification], str],
    **fields: object,
) -> None:
    """Record `provider_id` as sent on every page of `batch`, each with `message(page)` on its
    incident's timeline; then apply the status callbacks that came before it was recorded.

    One transaction: its row locks keep a callback from being kept for later after the kept
    ones were looked at (`callbacks._kept_early` takes the same lock).
    """
    with transaction.atomic():
        for notification in batch:
            _finish(
                notification,
                status=NotificationStatus.SENT,
                provider_id=provider_id,
                provider_status=channel.provider_status,
                error="",
                **fields,
            )
            timeline_add(
                incident=notification.incident, kind="notified", message=message(notification)
            )
        early_callbacks_apply(batch, provider_id)


def _already_sent(batch: list[Notification]) -> bool:
    """Ask the provider once whether an unsure earlier send of `batch` went out; record it.

    `batch` is a page and the pages that went out in the same bundled SMS (claimed by us).
    """
    primary = batch[0]
    channel = channel_for(primary.kind)
    try:
        provider_id = channel.find_sent(primary)
    except Exception as exc:
        error = delivery_error(exc)
        # A duplicate page is better than a lost one.
        for notification in batch:
            message = (
                f"Could not ask whether {notification.what} went out before ({error}); "
                "sending it again"
            )
            timeline_add(incident=notification.incident, kind="resent", message=message)
        provider_id = None
    if provider_id is None:
        _not_sent(batch)
        return False
    _record_sent(
        batch,
        channel,
        provider_id,
        lambda n: (
            f"{n.what} was already sent before a worker stopped or lost the answer; not sent again"
        ),
        unsure_since=None,
    )
    return True


def _not_sent(batch: list[Notification]) -> None:
    """The unsure send never went out: the first page goes on now, the others back to pending.

    They are due and sure again, so the first page's attempt bundles those that still may go.
    """
    primary, *mates = batch
    now = timezone.now()
    # Sent again from now on: the stale clock and the next unsure window start here.
    _finish(primary, unsure_since=None, sent_at=now)
    for mate in mates:
        _finish(
            mate,
            status=NotificationStatus.PENDING,
            unsure_since=None,
            due_at=min(mate.due_at, now),
            attempts=mate.attempts - 1,
        )


def _alone(notification: Notification) -> None:
    """Give a page its own text back: the bundled SMS of its last attempt did not go out."""
    body = sms_text(notification.incident, notification.address)
    _finish(notification, body=body, bundle_key=None)


def still_wanted(notification: Notification) -> bool:
    """Return whether to send it: a page while its incident is triggered, a notice always."""
    incident = notification.incident
    return incident is None or incident.status == IncidentStatus.TRIGGERED


def _person_gone(notification: Notification, why: str) -> None:
    """Cancel a page its person may no longer get (deactivated since it was planned); say so."""
    message = f"{notification.what} not sent: {notification.user} {why}"
    _finish(notification, status=NotificationStatus.CANCELLED, error=message)
    timeline_add(incident=notification.incident, kind="cancelled", message=message)


def notification_deliver(notification_id: int) -> str:
    """Send one due notification through its channel; return what happened."""
    notification = _claim(notification_id)
    if notification is None:
        return "skipped"
    if not still_wanted(notification):
        _finish(notification, status=NotificationStatus.CANCELLED)
        return "cancelled"
    if (why := unpageable_reason(notification.user)) is not None:
        _person_gone(notification, why)
        return "cancelled"
    if notification.in_maintenance and notification_hold(notification, timezone.now()):
        return "held"
    if notification.unsure_since is not None:
        unsure = [notification, *bundle_mates_claim(notification, timezone.now())]
        if _already_sent(unsure):
            return "sent"
    if notification.bundle_key is not None:
        _alone(notification)
    if notification.kind == ContactKind.SMS and sms_stopped(notification.address):
        _failed(notification, DeliveryError("the number replied STOP", permanent=True))
        return "failed"
    now = timezone.now()
    if notification.kind in PHONE_RATES:
        hold = phone_slot_take(kind=notification.kind, phone=notification.address, now=now)
        if hold is not None:
            _defer(notification, hold)
            return "deferred"
    batch = [notification]
    if notification.kind == ContactKind.SMS:
        batch += bundle_claim(notification, now)
        _bundle(batch)
    return _send(batch)
