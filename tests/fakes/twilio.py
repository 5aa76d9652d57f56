"""A fake Twilio REST API over real HTTP, for tests that drive the real `twilio` client.

The fake listens on 127.0.0.1 on an ephemeral port. It accepts `Messages.json` and `Calls.json`
create requests (checking HTTP Basic auth as Twilio does), records what it received, and answers
with Twilio-shaped JSON; it lists them back too (GET, with Twilio's filters and pages, newest
first). It can also play Twilio's part towards our webhooks: inbound SMS and delivery status
callbacks, signed with the account's auth token; answering a call by fetching its TwiML and
pressing a key on its `<Gather>`. `fail_next` injects errors (a 500, a 21211) or a request that
never answers (`hang=True`, a client timeout); with `accept=True` the message or call is recorded
first, so Twilio has it but the client never learns so; `garbled=True` answers 200 with an HTML
page instead of JSON (a proxy in the way). `lists=True` aims the failure at list
requests instead. `before_answer` lets a test play Twilio's status callbacks before the create
request is answered (they can outrun it).

Webhooks go over real HTTP by default; `poster` lets a test route them through another transport
(Django's test client) while keeping Twilio's signature over the full public URL.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import sys
import threading
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "fake-auth-token"
ERRORS_URL = "https://www.twilio.com/docs/errors"
CREATE_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)\.json$"
)
HTTP_TIMEOUT = 15.0
DEFAULT_PAGE_SIZE = 50


@dataclass
class FakeMessage:
    """An outbound SMS the fake received."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    account_sid: str
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FakeCall:
    """An outbound call the fake received."""

    sid: str
    to: str
    from_: str
    url: str | None
    twiml: str | None
    status_callback: str | None
    account_sid: str
    status_callback_event: str = ""
    # Answering machine detection: what the call asked for, and who the test says answered.
    machine_detection: str = ""
    answered_by: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class _Failure:
    """An error answer queued by `FakeTwilio.fail_next`."""

    status: int
    code: int | None
    message: str
    hang: float = 0.0  # seconds to hold the request before hanging up
    accept: bool = False
    garbled: bool = False


class _Garbled(Exception):
    """Answer with an HTML page where JSON belongs, raised while handling a request."""


class _ApiError(Exception):
    """An error answer, raised while handling a request."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _new_sid(prefix: str) -> str:
    """Return a Twilio-style SID: a two-letter prefix and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def _rfc2822(when: datetime) -> str:
    """Return `when` as Twilio formats dates, e.g. 'Mon, 16 Aug 2010 03:45:01 +0000'."""
    return format_datetime(when.astimezone(UTC))


def _error_body(status: int, code: int | None, message: str) -> dict[str, Any]:
    """Return a Twilio-shaped error body."""
    more_info = f"{ERRORS_URL}/{code}" if code is not None else ERRORS_URL
    return {"code": code, "message": message, "more_info": more_info, "status": status}


def _form(raw: bytes) -> dict[str, str]:
    """Parse a form-encoded body, keeping the first value of each name."""
    parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    """Return (username, password) from a Basic Authorization header, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _message_resource(message: FakeMessage) -> dict[str, Any]:
    """Return a JSON body shaped like Twilio's Message resource."""
    now = _rfc2822(message.created)
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": now,
        "date_updated": now,
        "date_sent": now,  # the fake sends at once
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message.from_,
        "to": message.to,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "status": "queued",
        "subresource_uris": {},
        "uri": f"/{API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}.json",
    }


def _call_resource(call: FakeCall) -> dict[str, Any]:
    """Return a JSON body shaped like Twilio's Call resource."""
    now = _rfc2822(call.created)
    return {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "api_version": API_VERSION,
        "answered_by": None,
        "caller_name": None,
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": call.from_,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "start_time": now,  # the fake dials at once
        "status": "queued",
        "subresource_uris": {},
        "to": call.to,
        "to_formatted": call.to,
        "trunk_sid": None,
        "uri": f"/{API_VERSION}/Accounts/{call.account_sid}/Calls/{call.sid}.json",
    }


def _instant(value: str) -> datetime | date:
    """Parse a list filter's time: an ISO 8601 date-time, or a bare date (YYYY-MM-DD)."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        pass
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _ApiError(400, 20001, f"Invalid date: {value}") from None


def _compared(when: datetime, bound: datetime | date) -> tuple[Any, Any]:
    """Return (`when`, `bound`) comparable: by day when `bound` is a bare date."""
    if isinstance(bound, datetime):
        return when, bound
    return when.date(), bound


def _listed(record: FakeMessage | FakeCall, query: dict[str, str], stamp: str) -> bool:
    """Return whether `record` passes the list filters in `query` (To, From, date bounds)."""
    if query.get("To", record.to) != record.to:
        return False
    if query.get("From", record.from_) != record.from_:
        return False
    checks = {stamp: "__eq__", f"{stamp}>": "__ge__", f"{stamp}<": "__le__"}
    for name, test in checks.items():
        if name in query:
            when, bound = _compared(record.created, _instant(query[name]))
            if not getattr(when, test)(bound):
                return False
    return True


def _page(
    account: str,
    kind: str,
    query: dict[str, str],
    page: int,
    size: int,
    rows: list[dict[str, Any]],
    more: bool,
) -> dict[str, Any]:
    """Return a page of a list as Twilio shapes it: the rows under their kind, and page links."""
    base = f"/{API_VERSION}/Accounts/{account}/{kind}.json"
    filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def uri(n: int) -> str:
        return (
            base + "?" + urlencode({**filters, "PageSize": size, "Page": n, "PageToken": f"PA{n}"})
        )

    return {
        kind.lower(): rows,
        "start": page * size,
        "end": page * size + max(len(rows) - 1, 0),
        "page": page,
        "page_size": size,
        "uri": uri(page),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if more else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }


class _Server(ThreadingHTTPServer):
    """The HTTP server, carrying the fake its handlers report to."""

    daemon_threads = True

    def __init__(self, fake: FakeTwilio) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Answers Twilio REST requests on behalf of a `FakeTwilio`."""

    server: _Server

    def do_POST(self) -> None:
        """Handle a create request."""
        self._dispatch()

    def do_GET(self) -> None:
        """List messages or calls."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Answer 404: the fake only creates."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Answer 404: the fake only creates."""
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Print nothing."""

    def _dispatch(self) -> None:
        """Route the request and write a JSON answer."""
        raw = self._read_body()
        parts = urlsplit(self.path)
        match = CREATE_PATH.match(parts.path)
        auth = self.headers.get("Authorization")
        try:
            if self.command not in ("POST", "GET") or match is None:
                raise _ApiError(404, 20404, f"The requested resource {self.path} was not found")
            if self.command == "GET":
                query = _form(parts.query.encode("utf-8"))
                status, body = self.server.fake._handle_list(
                    match["account"], match["kind"], auth, query
                )
            else:
                status, body = self.server.fake._handle_create(
                    match["account"], match["kind"], auth, _form(raw)
                )
        except _ApiError as error:
            status, body = error.status, _error_body(error.status, error.code, error.message)
        except _Garbled:
            self._send(200, "text/html", b"<html><body>Gateway says hello</body></html>")
            return
        self._send_json(status, body)

    def _read_body(self) -> bytes:
        """Read the whole request body."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        """Write `body` as a JSON response."""
        self._send(status, "application/json; charset=utf-8", json.dumps(body).encode("utf-8"))

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        """Write an answer of `content_type`."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeTwilio:
    """A fake Twilio REST API on 127.0.0.1, recording the messages and calls it is asked for."""

    def __init__(
        self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._changed = threading.Condition()
        self._messages: list[FakeMessage] = []
        self._calls: list[FakeCall] = []
        self._failures: deque[_Failure] = deque()
        self._list_failures: deque[_Failure] = deque()
        self._lists: list[tuple[str, dict[str, str]]] = []
        self._before_answer: deque[Callable[[FakeMessage | FakeCall], object]] = deque()
        self._hanging = 0
        self._release = threading.Event()
        self.poster: Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> FakeTwilio:
        """Start serving on an ephemeral port; return self."""
        if self._server is not None:
            raise RuntimeError("FakeTwilio is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        self._release.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=HTTP_TIMEOUT)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to point the Twilio client at, e.g. 'http://127.0.0.1:54321'."""
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # What arrived

    @property
    def messages(self) -> list[FakeMessage]:
        """The messages received so far, in arrival order (a copy)."""
        with self._changed:
            return list(self._messages)

    @property
    def calls(self) -> list[FakeCall]:
        """The calls received so far, in arrival order (a copy)."""
        with self._changed:
            return list(self._calls)

    @property
    def lists(self) -> list[tuple[str, dict[str, str]]]:
        """The list requests received so far: (Messages or Calls, their query), a copy."""
        with self._changed:
            return list(self._lists)

    @property
    def hanging(self) -> int:
        """How many requests `fail_next(hang=...)` is holding right now."""
        with self._changed:
            return self._hanging

    def wait_for_messages(
        self, count: int, *, to: str | None = None, timeout: float = 15.0
    ) -> list[FakeMessage]:
        """Block until at least `count` messages (to `to`, if given) arrived; return them."""

        def matching() -> list[FakeMessage]:
            return [m for m in self._messages if to is None or m.to == to]

        with self._changed:
            if self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                return matching()
            arrived = [(m.to, m.body) for m in self._messages]
        wanted = f"{count} message(s)" + (f" to {to}" if to else "")
        raise AssertionError(f"timed out after {timeout}s waiting for {wanted}; got {arrived}")

    # Steering

    def fail_next(
        self,
        *,
        status: int = 500,
        code: int | None = None,
        message: str = "Service unavailable",
        times: int = 1,
        hang: bool | float = False,
        accept: bool = False,
        lists: bool = False,
        garbled: bool = False,
    ) -> None:
        """Answer the next `times` create requests with this error, recording nothing.

        With `hang`, never answer instead (until `reset`, `release` or `stop`; for `hang` seconds
        if it is a number, then hang up): the client times out or sees the connection drop. With
        `accept`, record the message or call first, then hang up without an answer (after
        hanging, with `hang`): Twilio has it, the client never hears so. With `lists`, fail the
        next list requests instead of creates. With `garbled`, answer 200 with an HTML page
        instead of JSON, recording nothing.
        """
        queue = self._list_failures if lists else self._failures
        with self._changed:
            held = HTTP_TIMEOUT if hang is True else float(hang)
            queue.extend([_Failure(status, code, message, held, accept, garbled)] * times)

    def before_answer(self, action: Callable[[FakeMessage | FakeCall], object]) -> None:
        """Run `action` on the next message or call created, before answering its request.

        Twilio has it by then and may already report on it: `action` can play a status
        callback that reaches our webhooks before our client hears the SID.
        """
        with self._changed:
            self._before_answer.append(action)

    def release(self) -> None:
        """Let hanging requests go (they hang up without an answer)."""
        self._release.set()
        self._release = threading.Event()

    def reset(self) -> None:
        """Forget messages, calls and queued failures; let hanging requests go."""
        self._release.set()
        self._release = threading.Event()
        with self._changed:
            self._messages.clear()
            self._calls.clear()
            self._failures.clear()
            self._list_failures.clear()
            self._lists.clear()
            self._before_answer.clear()
            self._changed.notify_all()

    # Playing Twilio towards our webhooks

    def signed_post(
        self, url: str, params: dict[str, str], *, valid_signature: bool = True
    ) -> tuple[int, str]:
        """POST `params` to `url` signed as Twilio does; return (status, body text)."""
        token = self.auth_token if valid_signature else "not-" + self.auth_token
        signature = RequestValidator(token).compute_signature(url, params)
        if self.poster is not None:
            return self.poster(url, params, {"X-Twilio-Signature": signature})
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode("utf-8"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
            method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace")

    def send_inbound_sms(
        self,
        webhook_url: str,
        *,
        from_: str,
        to: str,
        body: str,
        valid_signature: bool = True,
        sid: str | None = None,
    ) -> tuple[int, str]:
        """POST an inbound SMS to `webhook_url` as Twilio's messaging webhook does.

        Give the `sid` of an earlier one to deliver that message again, as Twilio may.
        """
        params = {
            "MessageSid": sid or _new_sid("SM"),
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
        }
        return self.signed_post(webhook_url, params, valid_signature=valid_signature)

    def send_status_callback(
        self, message: FakeMessage, status: str, *, error_code: str | None = None
    ) -> tuple[int, str]:
        """POST a delivery status callback for `message` to its StatusCallback URL."""
        if not message.status_callback:
            raise AssertionError(f"message {message.sid} was sent without a StatusCallback")
        params = {
            "MessageSid": message.sid,
            "MessageStatus": status,
            "AccountSid": message.account_sid,
            "From": message.from_,
            "To": message.to,
        }
        if error_code is not None:
            params["ErrorCode"] = error_code
        return self.signed_post(message.status_callback, params)

    def send_call_status(
        self, call: FakeCall, status: str, *, duration: int | None = None
    ) -> tuple[int, str]:
        """POST a call status callback (ringing, in-progress, completed, no-answer, busy ...)."""
        if not call.status_callback:
            raise AssertionError(f"call {call.sid} was placed without a StatusCallback")
        params = {**self._call_params(call), "CallStatus": status}
        if duration is not None:
            params["CallDuration"] = str(duration)
        return self.signed_post(call.status_callback, params)

    def answer_call(self, call: FakeCall, *, valid_signature: bool = True) -> tuple[int, str]:
        """Answer `call`: fetch its TwiML from its Url as Twilio does; return (status, TwiML)."""
        if not call.url:
            raise AssertionError(f"call {call.sid} has no Url to fetch TwiML from")
        params = {**self._call_params(call), "CallStatus": "in-progress"}
        return self.signed_post(call.url, params, valid_signature=valid_signature)

    def press(
        self, call: FakeCall, twiml: str, digits: str, *, valid_signature: bool = True
    ) -> tuple[int, str]:
        """Press `digits` on the `<Gather>` in `twiml`: POST them to its action URL."""
        gather = ET.fromstring(twiml).find("Gather")
        if gather is None:
            raise AssertionError(f"no <Gather> in {twiml}")
        action = urljoin(call.url or "", gather.get("action") or call.url or "")
        params = {**self._call_params(call), "CallStatus": "in-progress", "Digits": digits}
        return self.signed_post(action, params, valid_signature=valid_signature)

    def follow_redirect(self, call: FakeCall, twiml: str) -> tuple[int, str]:
        """Follow the `<Redirect>` in `twiml`, as Twilio does when a Gather got no key."""
        redirect = ET.fromstring(twiml).find("Redirect")
        if redirect is None or not redirect.text:
            raise AssertionError(f"no <Redirect> in {twiml}")
        params = {**self._call_params(call), "CallStatus": "in-progress"}
        return self.signed_post(urljoin(call.url or "", redirect.text.strip()), params)

    def _call_params(self, call: FakeCall) -> dict[str, str]:
        return {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "From": call.from_,
            "To": call.to,
            "Direction": "outbound-api",
            **self._amd_params(call),
        }

    # Serving (called from the server's threads)

    def _handle_create(
        self, account: str, kind: str, authorization: str | None, params: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Check, record and describe one create request; raise _ApiError to refuse it."""
        self._authenticate(account, authorization)
        with self._changed:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None and failure.accept:
            self._accepted(kind, params)
        self._fail(failure)
        record = self._accepted(kind, params)
        if isinstance(record, FakeMessage):
            return 201, _message_resource(record)
        return 201, _call_resource(record)

    def _accepted(self, kind: str, params: dict[str, str]) -> FakeMessage | FakeCall:
        """Record a message or call; run the action `before_answer` queued for it, if any."""
        record = self._record(kind, params)
        with self._changed:
            action = self._before_answer.popleft() if self._before_answer else None
        if action is not None:
            action(record)
        return record

    def _record(self, kind: str, params: dict[str, str]) -> FakeMessage | FakeCall:
        if kind == "Messages":
            return self._record_message(params)
        return self._record_call(params)

    def _fail(self, failure: _Failure | None) -> None:
        """Hang, hang up or answer an error, as `failure` says (nothing if it is None)."""
        if failure is None:
            return
        if failure.garbled:
            raise _Garbled
        if failure.hang:
            self._hold(failure.hang)
        if failure.hang or failure.accept:
            raise ConnectionResetError("hung up without an answer")
        raise _ApiError(failure.status, failure.code, failure.message)

    def _hold(self, seconds: float) -> None:
        """Hold a request for `seconds` (or until released), counting it as hanging."""
        with self._changed:
            self._hanging += 1
        try:
            self._release.wait(seconds)
        finally:
            with self._changed:
                self._hanging -= 1

    def _handle_list(
        self, account: str, kind: str, authorization: str | None, query: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one page of messages or calls, filtered as Twilio filters, newest first."""
        self._authenticate(account, authorization)
        with self._changed:
            failure = self._list_failures.popleft() if self._list_failures else None
            self._lists.append((kind, query))
            records = list(self._messages if kind == "Messages" else self._calls)
        self._fail(failure)
        stamp = "DateSent" if kind == "Messages" else "StartTime"
        chosen = [r for r in reversed(records) if _listed(r, query, stamp)]
        resource = _message_resource if kind == "Messages" else _call_resource
        size = int(query.get("PageSize") or DEFAULT_PAGE_SIZE)
        page = int(query.get("Page") or 0)
        rows = [resource(r) for r in islice(chosen, page * size, (page + 1) * size)]
        more = len(chosen) > (page + 1) * size
        return 200, _page(account, kind, query, page, size, rows, more)

    def _authenticate(self, account: str, authorization: str | None) -> None:
        """Refuse with 401 unless Basic auth is this account's SID and token, for its own path."""
        credentials = _basic_auth(authorization)
        expected = (self.account_sid, self.auth_token)
        if (
            credentials is None
            or account != self.account_sid
            or not hmac.compare_digest(credentials[0], expected[0])
            or not hmac.compare_digest(credentials[1], expected[1])
        ):
            raise _ApiError(401, 20003, "Authenticate")

    def _record_message(self, params: dict[str, str]) -> FakeMessage:
        """Validate and record a message create request."""
        if not params.get("To"):
            raise _ApiError(400, 21604, "A 'To' phone number is required.")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            raise _ApiError(400, 21603, "A 'From' phone number is required.")
        if not params.get("Body"):
            raise _ApiError(400, 21602, "Message body is required.")
        message = FakeMessage(
            sid=_new_sid("SM"),
            to=params["To"],
            from_=params.get("From", ""),
            body=params["Body"],
            status_callback=params.get("StatusCallback") or None,
            account_sid=self.account_sid,
        )
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()
        return message

    def _record_call(self, params: dict[str, str]) -> FakeCall:
        """Validate and record a call create request."""
        if not params.get("To"):
            raise _ApiError(400, 21201, "No 'To' number is specified")
        if not params.get("From"):
            raise _ApiError(400, 21213, "No 'From' number is specified")
        if not params.get("Url") and not params.get("Twiml"):
            raise _ApiError(400, 21205, "Url parameter is required.")
        call = FakeCall(
            sid=_new_sid("CA"),
            to=params["To"],
            from_=params["From"],
            url=params.get("Url") or None,
            twiml=params.get("Twiml") or None,
            status_callback=params.get("StatusCallback") or None,
            account_sid=self.account_sid,
            status_callback_event=params.get("StatusCallbackEvent", ""),
            machine_detection=self._amd_option(params),
        )
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
        return call

    # Answering machine detection (AMD). A call placed with MachineDetection carries AnsweredBy
    # (human, machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax,
    # unknown) in its TwiML fetches and status callbacks once answered, as Twilio's does.

    AMD_MODES = ("Enable", "DetectMessageEnd")

    def detect(self, call: FakeCall, answered_by: str) -> None:
        """Say who answered `call`; later callbacks carry it if the call asked for AMD."""
        call.answered_by = answered_by

    def answer_by_machine(
        self, call: FakeCall, answered_by: str = "machine_end_beep"
    ) -> tuple[int, str]:
        """Let voicemail (or a fax) answer `call`: fetch its TwiML as Twilio does then."""
        self.detect(call, answered_by)
        return self.answer_call(call)

    def answer_by_human(self, call: FakeCall) -> tuple[int, str]:
        """Let a person answer `call`: fetch its TwiML with AnsweredBy=human (with AMD on)."""
        self.detect(call, "human")
        return self.answer_call(call)

    def _amd_params(self, call: FakeCall) -> dict[str, str]:
        if not call.machine_detection or not call.answered_by:
            return {}
        return {"AnsweredBy": call.answered_by}

    def _amd_option(self, params: dict[str, str]) -> str:
        mode = params.get("MachineDetection", "")
        if mode and mode not in self.AMD_MODES:
            raise _ApiError(400, None, "MachineDetection must be Enable or DetectMessageEnd")
        return mode
