"""The channel registry: Twilio when configured, the console otherwise, e-mail always by mail."""

import pytest

from paging.models import Notification
from paging.notify.channels import CHANNELS, channel_for
from tests.paging.notify.conftest import page

pytestmark = pytest.mark.django_db


def test_every_contact_kind_has_a_channel_with_the_same_interface():
    assert {type(channel_for(kind)).__name__ for kind in ("sms", "voice", "email")} == {
        "ConsoleChannel",
        "EmailChannel",
    }
    for channel in CHANNELS.values():
        assert callable(channel.send) and channel.name


def test_twilio_channels_are_used_once_configured(twilio):
    assert channel_for("sms").name == "twilio_sms"
    assert channel_for("voice").name == "twilio_voice"


def test_console_prints_and_stores_the_page_without_twilio(payments, capsys):
    incident = page(payments)

    printed = capsys.readouterr().out
    notification = Notification.objects.get()
    assert notification.status == "sent" and notification.provider_id.startswith("console-")
    assert f"[SMS to +15***01] #{incident.pk} CRIT payments: Disk full on db1" in printed
    assert notification.body in printed
