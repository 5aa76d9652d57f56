"""Push notifications with the Web Push protocol, straight to the browser's own push service.

pywebpush encrypts the payload (aes128gcm, RFC 8291) and the VAPID key signs the request
(RFC 8292); the request itself goes through our guarded fetcher (`oncall/outbound.py`), since
the endpoint is a URL a browser handed us. 201: the push service has it. 404 / 410: the
subscription is gone (removed, and the next contact method goes out at once). 429 / 5xx and
network trouble: retried with the channel's backoff.
"""

import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings
from pywebpush import WebPusher, WebPushException

from oncall import outbound
from paging.models import PushSubscription
from paging.notify.channels.base import Channel, DeliveryError
from paging.notify.push import (
    Subscription,
    notice_payload,
    page_payload,
    subscription_of,
)
from paging.vapid import VapidError, subject, vapid

# The DeliveryError code of a subscription its push service no longer knows (404 / 410).
SUBSCRIPTION_GONE = 410
# Seconds a push service keeps a page for a device that is offline.
TTL = 3600
VAPID_LIFETIME = 12 * 3600


class _Answer:
    """What pywebpush reads of a response, from the guarded fetcher's answer."""

    def __init__(self, answer: outbound.Response) -> None:
        self.status_code = answer.status
        self.headers = answer.headers
        self.text = ""


class _GuardedSession:
    """Stands in for the requests session pywebpush posts with: posts through the guard."""

    def post(self, url: str, *, data: bytes, headers: Mapping[str, str], timeout: float):
        try:
            answer = outbound.post(url, body=data or b"", headers=dict(headers), timeout=timeout)
        except outbound.OutboundError as exc:
            message = f"push service {exc.host}: {exc}"
            permanent = isinstance(exc, outbound.OutboundRefused)
            raise DeliveryError(message, permanent=permanent) from None
        return _Answer(answer)


def _authorization(endpoint: str) -> dict[str, str]:
    """Return the VAPID Authorization header for the endpoint's push service."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "sub": subject(),
        "exp": int(time.time()) + VAPID_LIFETIME,
    }
    return vapid().sign(claims)


def _classify(status: int, host: str) -> DeliveryError:
    if status in (404, 410):
        message = f"push service {host} answered {status}: the subscription has expired"
        return DeliveryError(message, permanent=True, code=SUBSCRIPTION_GONE)
    transient = status == 429 or status >= 500
    return DeliveryError(f"push service {host} answered {status}", permanent=not transient)


def push_send(subscription: Subscription, payload: bytes) -> str:
    """Send one encrypted push; return the push service's id for it; raise DeliveryError."""
    try:
        headers = _authorization(subscription.endpoint)
    except VapidError as exc:
        raise DeliveryError(f"push is not configured: {exc}", permanent=True) from None
    host = urlsplit(subscription.endpoint).hostname or "?"
    try:
        pusher = WebPusher(subscription.info(), requests_session=_GuardedSession())
        answer = pusher.send(
            payload,
            headers={**headers, "Urgency": "high"},
            ttl=TTL,
            content_encoding="aes128gcm",
            timeout=settings.WEBPUSH_TIMEOUT_SECONDS,
        )
    except WebPushException as exc:  # the stored keys are unusable
        raise DeliveryError(f"push subscription unusable: {exc.message}", permanent=True) from None
    if answer.status_code not in (200, 201, 202):
        raise _classify(answer.status_code, host)
    location = answer.headers.get("Location", "")
    return (location.rsplit("/", 1)[-1] or f"push-{host}")[:64]


def subscription_send(found: PushSubscription | None, payload: bytes) -> str:
    """Send `payload` to a stored subscription, as `push_send`; DeliveryError if it is gone."""
    if found is None:
        raise DeliveryError("the push subscription was removed", permanent=True)
    return push_send(Subscription(found.endpoint, found.p256dh, found.auth), payload)


class WebPushChannel(Channel):
    name = "webpush"
    provider_status = "accepted"

    def timeout(self) -> float:
        return settings.WEBPUSH_TIMEOUT_SECONDS

    def send(self, notification) -> str:
        write = page_payload if notification.incident_id is not None else notice_payload
        return subscription_send(subscription_of(notification), write(notification))
