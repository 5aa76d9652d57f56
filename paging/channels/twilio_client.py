"""The real `twilio` client, optionally pointed at another base URL.

`TWILIO_API_BASE_URL` sends every REST call to a Twilio-compatible provider (or to our fake in
tests) by rewriting the scheme and host of each request in a small HTTP client, rather than by
patching the library.
"""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


class RebasedHttpClient(TwilioHttpClient):
    """A Twilio HTTP client that sends each request to `base_url` instead of *.twilio.com."""

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
        http = TwilioHttpClient(timeout=timeout)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
