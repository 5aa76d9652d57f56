"""An HTTP gate in front of the fake Twilio: holds each request until the test opens it.

It lets a test catch a worker in the middle of a send (to stop it there) without any sleep.
"""

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD_LIMIT = 30.0


class Gate:
    """Forward requests to `target` once `open()` is called; count the ones held meanwhile."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.opened = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Gate":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.opened.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for_request(self, timeout: float) -> bool:
        """Return once a request is held at the gate (False after `timeout` seconds)."""
        return self.arrived.acquire(timeout=timeout)

    def open(self) -> None:
        self.opened.set()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gate.arrived.release()
                gate.opened.wait(HOLD_LIMIT)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                request = urllib.request.Request(
                    gate.target + self.path, data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, answer = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, answer = error.code, error.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
