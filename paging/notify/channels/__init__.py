"""Notification channels: one class per channel behind one small interface, and a registry."""

import datetime as dt

from paging.notify.channels.base import Channel, DeliveryError, delivery_error
from paging.notify.channels.console import ConsoleChannel
from paging.notify.channels.email import EmailChannel
from paging.notify.channels.twilio_client import twilio_configured
from paging.notify.channels.twilio_sms import TwilioSmsChannel
from paging.notify.channels.twilio_voice import TwilioVoiceChannel
from paging.notify.channels.webpush import WebPushChannel

CHANNELS: dict[str, type[Channel]] = {
    "console": ConsoleChannel,
    "twilio_sms": TwilioSmsChannel,
    "twilio_voice": TwilioVoiceChannel,
    "email": EmailChannel,
    "webpush": WebPushChannel,
}
# Contact kind → the channel that delivers it when Twilio is configured.
_BY_KIND = {"sms": "twilio_sms", "voice": "twilio_voice", "email": "email", "push": "webpush"}
# Beyond the provider's bound, a live worker needs a moment between its claim and its request
# (a few queries), and the sweeper's clock may differ a little from the worker's.
CLAIM_SLACK = dt.timedelta(seconds=3)


def channel_for(kind: str) -> Channel:
    """Return the channel that delivers contact kind `kind` with the current settings.

    Without Twilio credentials, SMS and calls are printed on the console (the embedded default);
    e-mail always goes through Django's mail backend, which prints when no SMTP host is set;
    push always goes to the browser's push service (without VAPID settings it fails, and the
    person's next contact method goes out).
    """
    name = _BY_KIND.get(kind, "console")
    if name.startswith("twilio_") and not twilio_configured():
        name = "console"
    return CHANNELS[name]()


def sending_stale_after(kind: str) -> dt.timedelta:
    """Return how long a page of contact kind `kind` can be `sending` before its worker is dead.

    A live worker sends within its provider's time limit of claiming the page (and again within
    it of asking the provider whether an unsure send went out): past that, no one is sending it.
    """
    return dt.timedelta(seconds=channel_for(kind).timeout()) + CLAIM_SLACK


__all__ = [
    "CHANNELS",
    "Channel",
    "DeliveryError",
    "channel_for",
    "delivery_error",
    "sending_stale_after",
]
