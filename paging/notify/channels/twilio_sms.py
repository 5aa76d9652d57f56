"""SMS through the real Twilio client (or a Twilio-compatible provider)."""

from django.conf import settings
from django.urls import reverse

from paging.notify.channels.base import Channel
from paging.notify.channels.twilio_client import (
    LOOKUP_LIMIT,
    first_unrecorded,
    lookup_window,
    provider_errors,
    twilio_client,
)


def status_callback_url(notification) -> str:
    """Return the URL Twilio reports this notification's delivery status to."""
    return settings.PUBLIC_URL + reverse("twilio-status", args=[notification.pk])


class TwilioSmsChannel(Channel):
    name = "twilio_sms"
    provider_status = "queued"

    def timeout(self) -> float:
        return settings.TWILIO_TIMEOUT_SECONDS

    def send(self, notification) -> str:
        with provider_errors():
            message = twilio_client().messages.create(
                to=notification.address,
                from_=settings.TWILIO_FROM_NUMBER,
                body=notification.body,
                status_callback=status_callback_url(notification),
            )
        return message.sid

    def find_sent(self, notification) -> str | None:
        """Return the SID of an SMS with this body that Twilio took from us around the send."""
        window = lookup_window(notification)
        with provider_errors():
            messages = twilio_client().messages.list(
                to=notification.address,
                from_=settings.TWILIO_FROM_NUMBER,
                date_sent_after=window[0],
                limit=LOOKUP_LIMIT,
            )
        body = notification.body.strip()
        found = [(m.sid, m.date_created) for m in messages if (m.body or "").strip() == body]
        return first_unrecorded(found, window, notification)
