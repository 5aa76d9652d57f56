"""The fake Twilio server, driven by the real `twilio` client and checked with its validator."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from paging.notify.channels.twilio_client import RebasedHttpClient
from tests.fakes.twilio import FakeTwilio

SENDER = "+15559990000"
ALICE = "+15550100001"
BOB = "+15550100002"
CALLBACK = "https://oncall.example.com/twilio/status/7/"


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake(running_fake: FakeTwilio) -> FakeTwilio:
    running_fake.reset()
    return running_fake


def client_for(fake: FakeTwilio, *, auth_token: str | None = None) -> Client:
    """Return a real Twilio client pointed at the fake."""
    http = RebasedHttpClient(fake.url, timeout=5)
    return Client(fake.account_sid, auth_token or fake.auth_token, http_client=http)


class _Recorder(BaseHTTPRequestHandler):
    """Records each POST it gets and answers 204."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        params = {name: values[0] for name, values in parse_qs(raw).items()}
        self.server.received.append((self.headers.get("X-Twilio-Signature"), params))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Print nothing."""


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[str | None, dict[str, str]]]]]:
    """A tiny local webhook: its URL and the (signature, params) of each POST it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/twilio/sms/", server.received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_real_client_creates_a_message(fake):
    sent = client_for(fake).messages.create(
        to=ALICE, from_=SENDER, body="Payments is down", status_callback=CALLBACK
    )

    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert sent.status == "queued"
    (received,) = fake.messages
    assert received.sid == sent.sid
    assert (received.to, received.from_, received.body) == (ALICE, SENDER, "Payments is down")
    assert received.status_callback == CALLBACK
    assert received.account_sid == fake.account_sid


def test_message_without_status_callback_records_none(fake):
    client_for(fake).messages.create(to=ALICE, from_=SENDER, body="hi")

    assert fake.messages[0].status_callback is None


def test_wrong_auth_token_is_401(fake):
    with pytest.raises(TwilioRestException) as raised:
        client_for(fake, auth_token="wrong").messages.create(to=ALICE, from_=SENDER, body="x")

    assert raised.value.status == 401
    assert raised.value.code == 20003
    assert fake.messages == []


def test_missing_to_is_400_21604(fake):
    with pytest.raises(TwilioRestException) as raised:
        client_for(fake).messages.create(to="", from_=SENDER, body="x")

    assert (raised.value.status, raised.value.code) == (400, 21604)
    assert fake.messages == []


def test_fail_next_answers_the_error_once_then_succeeds(fake):
    fake.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")
    client = client_for(fake)

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=ALICE, from_=SENDER, body="first")
    assert raised.value.status == 400
    assert raised.value.code == 21211
    assert "Invalid 'To' Phone Number" in raised.value.msg
    assert fake.messages == []

    client.messages.create(to=ALICE, from_=SENDER, body="second")
    assert [m.body for m in fake.messages] == ["second"]


def test_fail_next_times_and_reset(fake):
    fake.fail_next(status=503, times=2)
    client = client_for(fake)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=ALICE, from_=SENDER, body="x")
        assert raised.value.status == 503

    fake.fail_next(times=5)
    fake.reset()
    client.messages.create(to=ALICE, from_=SENDER, body="ok")
    assert len(fake.messages) == 1


def test_unknown_path_is_404_twilio_error(fake):
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{fake.url}/2010-04-01/Accounts/AC1/Nope.json", timeout=5)

    with raised.value as response:
        assert response.code == 404
        assert json.loads(response.read())["code"] == 20404


def test_wait_for_messages_returns_those_to_the_number(fake):
    client = client_for(fake)
    client.messages.create(to=ALICE, from_=SENDER, body="a")
    client.messages.create(to=BOB, from_=SENDER, body="b")

    (to_bob,) = fake.wait_for_messages(1, to=BOB, timeout=2)

    assert to_bob.body == "b"
    assert len(fake.wait_for_messages(2, timeout=2)) == 2


def test_wait_for_messages_wakes_when_a_message_arrives(fake):
    sender = threading.Timer(
        0.1, lambda: client_for(fake).messages.create(to=ALICE, from_=SENDER, body="later")
    )
    sender.start()
    try:
        (message,) = fake.wait_for_messages(1, to=ALICE, timeout=5)
    finally:
        sender.join()

    assert message.body == "later"


def test_wait_for_messages_times_out(fake):
    with pytest.raises(AssertionError, match="timed out"):
        fake.wait_for_messages(1, timeout=0.2)


def test_calls_create_records_a_call(fake):
    twiml = "<Response><Say>Payments is down</Say></Response>"

    call = client_for(fake).calls.create(
        to=ALICE, from_=SENDER, twiml=twiml, status_callback=CALLBACK
    )

    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued"
    (received,) = fake.calls
    assert (received.sid, received.to, received.from_) == (call.sid, ALICE, SENDER)
    assert (received.twiml, received.url, received.status_callback) == (twiml, None, CALLBACK)
    assert fake.messages == []


def test_signed_post_carries_a_valid_signature(fake, webhook):
    url, received = webhook
    params = {"From": ALICE, "To": SENDER, "Body": "1A"}

    assert fake.signed_post(url, params) == (204, "")

    ((signature, got),) = received
    assert got == params
    assert RequestValidator(fake.auth_token).validate(url, got, signature)


def test_signed_post_can_forge_a_signature(fake, webhook):
    url, received = webhook
    params = {"From": ALICE, "Body": "1A"}

    fake.signed_post(url, params, valid_signature=False)

    ((signature, got),) = received
    assert signature
    assert not RequestValidator(fake.auth_token).validate(url, got, signature)


def test_signed_post_returns_http_errors(fake):
    status, body = fake.signed_post(f"{fake.url}/elsewhere", {"a": "b"})

    assert status == 404
    assert json.loads(body)["code"] == 20404


def test_send_inbound_sms(fake, webhook):
    url, received = webhook

    fake.send_inbound_sms(url, from_=ALICE, to=SENDER, body="1A")

    ((signature, got),) = received
    assert got["MessageSid"].startswith("SM") and len(got["MessageSid"]) == 34
    assert (got["From"], got["To"], got["Body"], got["NumMedia"]) == (ALICE, SENDER, "1A", "0")
    assert got["AccountSid"] == fake.account_sid
    assert RequestValidator(fake.auth_token).validate(url, got, signature)


def test_send_status_callback(fake, webhook):
    url, received = webhook
    client_for(fake).messages.create(to=ALICE, from_=SENDER, body="x", status_callback=url)
    (message,) = fake.messages

    fake.send_status_callback(message, "undelivered", error_code="30003")

    ((signature, got),) = received
    assert got == {
        "MessageSid": message.sid,
        "MessageStatus": "undelivered",
        "AccountSid": fake.account_sid,
        "From": SENDER,
        "To": ALICE,
        "ErrorCode": "30003",
    }
    assert RequestValidator(fake.auth_token).validate(url, got, signature)


def test_hang_makes_the_client_time_out_then_the_fake_answers_again(fake):
    import requests

    fake.fail_next(hang=True)
    http = RebasedHttpClient(fake.url, timeout=0.5)
    client = Client(fake.account_sid, fake.auth_token, http_client=http)

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.messages.create(to=ALICE, from_=SENDER, body="lost")
    fake.reset()  # lets the hanging request go
    client.messages.create(to=ALICE, from_=SENDER, body="second")

    assert [m.body for m in fake.messages] == ["second"]


def test_answer_call_press_and_call_status_are_signed_posts(fake, webhook):
    url, received = webhook
    client_for(fake).calls.create(to=ALICE, from_=SENDER, url=url, status_callback=url)
    (call,) = fake.calls
    twiml = '<Response><Gather action="/twilio/voice/x/gather/" numDigits="1"/></Response>'

    fake.answer_call(call)
    fake.press(call, twiml, "4")
    fake.send_call_status(call, "completed", duration=42)

    (_, answered), (_, pressed), (_, status) = received
    assert (answered["CallSid"], answered["CallStatus"]) == (call.sid, "in-progress")
    assert pressed["Digits"] == "4"
    assert (status["CallStatus"], status["CallDuration"]) == ("completed", "42")
    for signature, params in received[::2]:
        assert RequestValidator(fake.auth_token).validate(url, params, signature)
