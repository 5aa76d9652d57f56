"""SMS through the real Twilio client (or a Twilio-compatible provider)."""

from django.conf import settings
from django.urls import reverse

from paging.channels.base import Channel
from paging.channels.twilio_client import provider_errors, twilio_client


def status_callback_url(notification) -> str:
    """Return the URL Twilio reports this notification's delivery status to."""
    return settings.PUBLIC_URL + reverse("twilio-status", args=[notification.pk])


class TwilioSmsChannel(Channel):
    name = "twilio_sms"
    provider_status = "queued"

    def send(self, notification) -> str:
        with provider_errors():
            message = twilio_client().messages.create(
                to=notification.address,
                from_=settings.TWILIO_FROM_NUMBER,
                body=notification.body,
                status_callback=status_callback_url(notification),
            )
        return message.sid
