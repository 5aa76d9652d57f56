"""The real `twilio` client, optionally pointed at another base URL, and its error mapping.

`TWILIO_API_BASE_URL` sends every REST call to a Twilio-compatible provider (or to our fake in
tests) by rewriting the scheme and host of each request in a small HTTP client, rather than by
patching the library. Each request takes at most `TWILIO_TIMEOUT_SECONDS`, connecting included:
the sweeper counts on that bound to tell a dead worker's page from one still being sent.
"""

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from django.db.models import Q
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.util import Timeout

from paging.models import Notification
from paging.notify.channels.base import DeliveryError

# Twilio error codes that no retry can fix: invalid number (21211, 21217, 13223, 13224),
# unsubscribed / replied STOP (21610), not a mobile number (21614), region or geo permission not
# enabled (21408, 21215, 21612), short code cannot reach it (21606).
PERMANENT_CODES = {21211, 21217, 13223, 13224, 21610, 21614, 21408, 21215, 21612, 21606}
UNSUBSCRIBED = 21610
# Around an unsure send, how far to look for it: clocks differ by a little, requests wait.
LOOKUP_SLACK = dt.timedelta(seconds=60)
LOOKUP_LIMIT = 50


class BoundedHttpClient(TwilioHttpClient):
    """A Twilio HTTP client whose requests take at most `timeout` seconds each, in all."""

    def __init__(self, *, timeout: float, **kwargs) -> None:
        super().__init__(timeout=timeout, **kwargs)
        # A number would bound the connect and each wait for the answer separately (twice it in
        # all, or more); `total` bounds both together. The client checks only a number's sign.
        self.timeout = Timeout(total=timeout)


class RebasedHttpClient(BoundedHttpClient):
    """A bounded Twilio HTTP client that sends each request to `base_url`, not *.twilio.com."""

    def __init__(self, base_url: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, *args, **kwargs):
        parts = urlsplit(url)
        path = self.base.path.rstrip("/") + parts.path
        rebased = urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, ""))
        return super().request(method, rebased, *args, **kwargs)


def twilio_configured() -> bool:
    """Return whether Twilio credentials and a sender number are all set."""
    return bool(
        settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER
    )


def twilio_client() -> Client:
    """Return a Twilio REST client built from settings."""
    timeout = settings.TWILIO_TIMEOUT_SECONDS
    if settings.TWILIO_API_BASE_URL:
        http = RebasedHttpClient(settings.TWILIO_API_BASE_URL, timeout=timeout)
    else:
        http = BoundedHttpClient(timeout=timeout)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)


def classify(exc: TwilioRestException) -> DeliveryError:
    """Return the DeliveryError for a Twilio REST error: 5xx and 429 are worth a retry."""
    transient = exc.status >= 500 or exc.status == 429
    permanent = exc.code in PERMANENT_CODES or not transient
    # The client prefixes the provider's words with "Unable to create record: ".
    words = str(exc.msg).split("record: ", 1)[-1]
    message = f"Twilio {exc.status} error {exc.code}: {words}"
    return DeliveryError(message, permanent=permanent, code=exc.code)


@contextlib.contextmanager
def provider_errors() -> Iterator[None]:
    """Turn whatever the Twilio client raises into a DeliveryError, permanent or not."""
    try:
        yield
    except TwilioRestException as exc:
        raise classify(exc) from exc
    except TwilioException as exc:
        if answer := _page_answer(exc):
            raise DeliveryError(f"Twilio {answer} to a list", permanent=False) from exc
        raise _unreachable(exc) from exc
    except requests.RequestException as exc:
        raise _unreachable(exc) from exc


def _page_answer(exc: TwilioException) -> str:
    """Return the HTTP status of a list page Twilio refused ('' if it is not that)."""
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    return f"answered {status}" if isinstance(status, int) else ""


def _unreachable(exc: Exception) -> DeliveryError:
    """Timeouts and refused connections: the provider may be back in a moment.

    Unless the connection was never made, Twilio may have sent it and only its answer was lost.
    """
    maybe_sent = not isinstance(exc, requests.ConnectTimeout)
    message = f"Twilio unreachable: {type(exc).__name__}"
    return DeliveryError(message, permanent=False, maybe_sent=maybe_sent)


def lookup_window(notification: Notification) -> tuple[dt.datetime, dt.datetime]:
    """Return the span in which Twilio would have created the notification's unsure send."""
    began = notification.unsure_since or notification.sent_at
    timeout = dt.timedelta(seconds=settings.TWILIO_TIMEOUT_SECONDS)
    return began - LOOKUP_SLACK, began + timeout + LOOKUP_SLACK


def first_unrecorded(
    found: Iterable[tuple[str, dt.datetime | None]],
    window: tuple[dt.datetime, dt.datetime],
    notification: Notification,
) -> str | None:
    """Return the oldest SID created within `window` that no notification has recorded yet.

    A SID recorded on a notification (another page, or this one's earlier call before a redial)
    is that page's, not the lost one; but one recorded on another page of the same bundled SMS
    is this one's too.
    """
    start, end = window
    inside = sorted((created, sid) for sid, created in found if created and start <= created <= end)
    sids = [sid for _, sid in inside]
    recorded = Notification.objects.filter(provider_id__in=sids)
    if notification.bundle_key is not None:
        recorded = recorded.exclude(Q(bundle_key=notification.bundle_key) & ~Q(pk=notification.pk))
    taken = set(recorded.values_list("provider_id", flat=True))
    return next((sid for sid in sids if sid not in taken), None)
