"""Channel fixtures: Twilio's webhooks through Django's test client, a real SMTP server."""

import asyncio
import datetime as dt
import email
import threading
from email.message import Message
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from paging.engine import incident_escalate
from paging.models import NotificationRule
from paging.notify.delivery import notification_deliver
from tests.conftest import TWILIO_FROM
from tests.factories import ContactMethodFactory
from tests.ops.cluster import free_port
from tests.paging.test_escalation_engine import trigger

ALICE_PHONE = "+15550100001"
BOB_PHONE = "+15550100002"


@pytest.fixture
def webhooks(twilio, client):
    """Let the fake Twilio call our webhooks through the test client (signed as Twilio signs)."""

    def post(url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        signature = headers["X-Twilio-Signature"]
        response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        return response.status_code, response.content.decode()

    twilio.poster = post
    yield twilio
    twilio.poster = None


def sms_reply(
    twilio, text: str, *, phone: str = ALICE_PHONE, valid: bool = True, sid: str | None = None
):
    """Reply to our number by SMS from `phone`; return (status, TwiML answer).

    `sid`: Twilio delivers the message with that MessageSid (again, if it was used before).
    """
    return twilio.send_inbound_sms(
        "http://testserver/twilio/sms/inbound/",
        from_=phone,
        to=TWILIO_FROM,
        body=text,
        valid_signature=valid,
        sid=sid,
    )


def page(service, summary: str = "Disk full on db1"):
    """Trigger an incident and do what workers do at once: escalate, send what is due."""
    incident = trigger(service, summary)
    for pk in incident_escalate(incident.pk):
        notification_deliver(pk)
    return incident


@pytest.fixture
def alice_voice(alice):
    return ContactMethodFactory(user=alice, kind="voice", address=ALICE_PHONE, name="phone")


@pytest.fixture
def sms_then_call(alice, alice_voice):
    """Alice's rules: SMS at once, a call five minutes later."""
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms)
    NotificationRule.objects.create(
        user=alice, contact_method=alice_voice, delay=dt.timedelta(minutes=5)
    )


@pytest.fixture
def alice_email(alice):
    return ContactMethodFactory(user=alice, kind="email", address="alice@example.com", name="work")


class _Inbox:
    """Keeps every message the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.changed = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        """Refuse addresses at nowhere.example, as a mail server refuses unknown users."""
        if address.endswith("@nowhere.example"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.changed:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.changed.notify_all()
        return "250 Message accepted for delivery"


class _SlowInbox(_Inbox):
    """Answers MAIL FROM and RCPT TO only after a pause each, as a busy mail server does."""

    pause = 0.6

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        await asyncio.sleep(self.pause)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        await asyncio.sleep(self.pause)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) that our SMTP backend sends to."""
    yield from _serve(_Inbox(), settings)


@pytest.fixture
def slow_smtp(settings):
    """A real SMTP server that takes 0.6 s to answer each of MAIL FROM and RCPT TO."""
    yield from _serve(_SlowInbox(), settings)


def _serve(inbox: _Inbox, settings):
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "oncall.mail.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield inbox
    finally:
        controller.stop()
