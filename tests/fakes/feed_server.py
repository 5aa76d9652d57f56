"""A calendar server over real HTTP on 127.0.0.1, for tests of imported iCal feeds.

It serves one body at any path, with an ETag and Last-Modified, answers 304 to a matching
conditional request, can be told to fail (any status, or any body) or to redirect elsewhere,
and records the requests.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FeedState:
    body: bytes = b""
    status: int = 200
    redirect: str = ""  # when set: answer 302 with this Location
    etag: str = '"v1"'
    last_modified: str = "Fri, 20 Nov 2026 09:30:00 GMT"
    requests: list[Seen] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append(Seen(self.path, dict(self.headers.items())))
        if state.redirect:
            self._redirect(state.redirect)
        elif state.status != 200:
            self._answer(state.status, b"Internal error")
        elif state.etag and self.headers.get("If-None-Match") == state.etag:
            self._answer(304, b"")
        else:
            self._answer(200, state.body, "text/calendar; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        state = self.server.state
        self.send_response(status)
        if status in (200, 304) and state.etag:
            self.send_header("ETag", state.etag)
            self.send_header("Last-Modified", state.last_modified)
        if status != 304:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = FeedState()


class FeedServer:
    """Serve `state.body` at every path until stopped."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server()
        self._scheme = "http"
        if tls is not None:  # HTTPS, with the certificate the context holds
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def state(self) -> FeedState:
        return self._server.state

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self._scheme}://{host}:{self._server.server_address[1]}{path}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
