"""SMS through the real Twilio client (or a Twilio-compatible provider)."""

import requests
from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException

from paging.channels.base import Channel, DeliveryError
from paging.channels.twilio_client import twilio_client

# Twilio error codes that no retry can fix: invalid number, unsubscribed (STOP), not a mobile
# number, region not enabled.
PERMANENT_CODES = {21211, 21610, 21614, 21408, 21612, 21606}


def classify(exc: TwilioRestException) -> DeliveryError:
    """Return the DeliveryError for a Twilio REST error: 5xx and 429 are worth a retry."""
    transient = exc.status >= 500 or exc.status == 429
    permanent = exc.code in PERMANENT_CODES or not transient
    return DeliveryError(f"Twilio {exc.status} error {exc.code}: {exc.msg}", permanent=permanent)


class TwilioSmsChannel(Channel):
    name = "twilio_sms"

    def send(self, notification) -> str:
        callback = settings.PUBLIC_URL + reverse("twilio-status", args=[notification.pk])
        try:
            message = twilio_client().messages.create(
                to=notification.address,
                from_=settings.TWILIO_FROM_NUMBER,
                body=notification.body,
                status_callback=callback,
            )
        except TwilioRestException as exc:
            raise classify(exc) from exc
        except (requests.RequestException, TwilioException) as exc:
            raise DeliveryError(
                f"Twilio unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        return message.sid
