"""Notification channels: one class per channel behind one small interface, and a registry."""

from paging.channels.base import Channel, DeliveryError
from paging.channels.console import ConsoleChannel
from paging.channels.twilio_client import twilio_configured
from paging.channels.twilio_sms import TwilioSmsChannel

CHANNELS: dict[str, type[Channel]] = {
    "console": ConsoleChannel,
    "twilio_sms": TwilioSmsChannel,
}


def channel_for(kind: str) -> Channel:
    """Return the channel that delivers contact kind `kind` with the current settings."""
    if kind == "sms" and twilio_configured():
        return CHANNELS["twilio_sms"]()
    return CHANNELS["console"]()


__all__ = ["CHANNELS", "Channel", "DeliveryError", "channel_for"]
