"""Push notifications: a browser's subscription as a contact method, what a push says, and the
signed, single-use, expiring links behind its Acknowledge and Resolve actions.

A link's GET only shows a confirmation page; its POST acts (the service worker posts it from
the lock screen). Each link works once: its nonce is stored when used.
"""

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from paging.models import (
    ContactKind,
    ContactMethod,
    Notification,
    PushLinkUse,
    PushSubscription,
)

_SALT = "paging.push-link"
ACTIONS = {"ack": "Acknowledge", "resolve": "Resolve"}
MAX_ENDPOINT = 2048
SUMMARY_SHOWN = 200


class SubscriptionError(ValueError):
    """A subscription the browser sent is malformed; `field` names the part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Subscription:
    """What PushManager.subscribe() gives: the endpoint and the browser's keys."""

    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict:
        """Return it as pywebpush's subscription_info."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def _key(value: object, field: str, size: int) -> str:
    """Return a base64url key of `size` bytes; raise SubscriptionError naming `field`."""
    if not isinstance(value, str) or not value:
        raise SubscriptionError(field, "This field is required (base64url text).")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise SubscriptionError(field, "Not base64url text.") from None
    if len(raw) != size or (size == 65 and raw[0] != 4):
        what = "an uncompressed P-256 public key" if size == 65 else "a secret"
        raise SubscriptionError(field, f"Must be {what} of {size} bytes.")
    return value.rstrip("=")


def _endpoint(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise SubscriptionError("endpoint", "This field is required (the push service URL).")
    if len(value) > MAX_ENDPOINT:
        raise SubscriptionError("endpoint", f"Longer than {MAX_ENDPOINT} characters.")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise SubscriptionError("endpoint", "Not a URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SubscriptionError("endpoint", "Must be an https URL of a push service.")
    return value


def subscription_parse(data: object) -> Subscription:
    """Return the subscription in a PushSubscription's JSON; raise SubscriptionError."""
    if not isinstance(data, dict):
        raise SubscriptionError("subscription", "Send the subscription as a JSON object.")
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise SubscriptionError("keys", "This field is required (an object with p256dh, auth).")
    return Subscription(
        endpoint=_endpoint(data.get("endpoint")),
        p256dh=_key(keys.get("p256dh"), "keys.p256dh", 65),
        auth=_key(keys.get("auth"), "keys.auth", 16),
    )


def device_address(endpoint: str) -> str:
    """Return how a push method is named: its push service's host and a digest of the endpoint."""
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:12]
    return f"{urlsplit(endpoint).hostname} #{digest}"


def subscription_of(notification: Notification) -> PushSubscription | None:
    """Return the subscription a push notification goes to (None once it is removed)."""
    return (
        PushSubscription.objects.filter(
            contact_method__user_id=notification.user_id,
            contact_method__kind=ContactKind.PUSH,
            contact_method__address=notification.address,
        )
        .order_by("pk")
        .first()
    )


@transaction.atomic
def push_subscription_drop(notification: Notification) -> int:
    """Remove the push method a push service said is gone (404/410); return how many."""
    gone = ContactMethod.objects.filter(
        user_id=notification.user_id, kind=ContactKind.PUSH, address=notification.address
    )
    return gone.delete()[1].get("paging.ContactMethod", 0)


# --- Action links ---------------------------------------------------------------------------


def action_url(notification: Notification, action: str) -> str:
    """Return a fresh single-use link that offers `action` on the notification's incident."""
    payload = {"n": notification.pk, "a": action, "j": secrets.token_hex(12)}
    token = signing.dumps(payload, salt=_SALT, compress=True)
    return settings.PUBLIC_URL + reverse("push-action", args=[token])


@dataclass(frozen=True)
class Link:
    """What a valid push link names."""

    notification: Notification
    action: str
    nonce: str


class LinkRefused(Exception):
    """A push link that cannot act; the message says why in words."""


def link_read(token: str) -> Link:
    """Return what a push link names; raise LinkRefused (expired, forged, used) in words."""
    try:
        payload = signing.loads(
            token, salt=_SALT, max_age=settings.PAGING_PUSH_ACTION_MAX_AGE_SECONDS
        )
        notification_id, action, nonce = int(payload["n"]), str(payload["a"]), str(payload["j"])
    except signing.SignatureExpired:
        raise LinkRefused(_expired_words()) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused("This link is not valid.") from None
    notification = (
        Notification.objects.select_related("incident__service", "user")
        .filter(pk=notification_id, incident__isnull=False)
        .first()
    )
    if notification is None or action not in ACTIONS:
        raise LinkRefused("This link is not valid.")
    if PushLinkUse.objects.filter(nonce=nonce).exists():
        raise LinkRefused(_used_words())
    return Link(notification, action, nonce)


def _expired_words() -> str:
    hours = settings.PAGING_PUSH_ACTION_MAX_AGE_SECONDS / 3600
    return f"This link has expired (links work for {hours:g} hours): open the incident to act."


def _used_words() -> str:
    return "This link was already used: each push action works once. Open the incident to act."


def link_use(link: Link) -> None:
    """Mark `link` used; raise LinkRefused if it was used meanwhile. Forget long-expired uses."""
    now = timezone.now()
    max_age = dt.timedelta(seconds=settings.PAGING_PUSH_ACTION_MAX_AGE_SECONDS)
    PushLinkUse.objects.filter(used_at__lt=now - max_age).delete()
    try:
        with transaction.atomic():
            PushLinkUse.objects.create(nonce=link.nonce, used_at=now)
    except IntegrityError:
        raise LinkRefused(_used_words()) from None


# --- What a push says -----------------------------------------------------------------------


def page_payload(notification: Notification) -> bytes:
    """Return the JSON a page's push carries: summary, incident, and the action links."""
    incident = notification.incident
    title = f"#{incident.pk} {incident.severity.upper()} {incident.service.name}"
    data = {
        "kind": "page",
        "title": title[:120],
        "body": incident.summary[:SUMMARY_SHOWN],
        "incident": incident.pk,
        "url": settings.PUBLIC_URL + reverse("web:incident", args=[incident.pk]),
        "actions": {a: action_url(notification, a) for a in ACTIONS},
        "tag": f"incident-{incident.pk}",
    }
    return json.dumps(data).encode()


def notice_payload(notification: Notification) -> bytes:
    """Return the JSON of a push that is not a page (a handoff notice): its text only."""
    data = {"kind": "notice", "title": "On call", "body": notification.body[:SUMMARY_SHOWN]}
    return json.dumps(data).encode()


def confirm_payload(method: ContactMethod, confirm_url: str) -> bytes:
    """Return the JSON of the test push that verifies a device: tapping Confirm verifies it."""
    data = {
        "kind": "confirm",
        "title": "Push notifications are on",
        "body": f"Tap Confirm to get on-call pages for {method.user} on this device.",
        "actions": {"confirm": confirm_url},
        "tag": f"confirm-{method.pk}",
    }
    return json.dumps(data).encode()
