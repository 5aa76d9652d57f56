"""A fake Web Push service over real HTTP on 127.0.0.1, speaking the protocol browsers' push
services speak to application servers.

It hands out subscriptions (an endpoint `/push/<id>` and the keys of a browser whose private
key it keeps), and accepts `POST /push/<id>` only as a real push service would: a VAPID
`Authorization: vapid t=<JWT>, k=<public key>` whose ES256 signature is valid for that key, with
`aud` its own origin, `exp` in the future and a `sub` (RFC 8292); a `TTL` header; and a body in
`Content-Encoding: aes128gcm`, which it decrypts with the subscription's private key and auth
secret (RFC 8291, written out here, not with the sender's library). It records each decrypted
JSON and answers 201 — or whatever status a test asked for (`fail_next`).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def vapid_key_pem() -> str:
    """Return a fresh VAPID private key, PEM, as `vapid --gen` writes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class Refused(Exception):
    """The request breaks the protocol; the fake answers 400/401 with this text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Browser:
    """A subscribed browser: its private key and auth secret, as the fake keeps them."""

    id: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict:
        """Return what PushManager.subscribe() would give the page (its toJSON())."""
        keys = {"p256dh": b64url(_point(self.key.public_key())), "auth": b64url(self.auth)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}

    def decrypt(self, body: bytes) -> bytes:
        """Decrypt an aes128gcm Web Push message (RFC 8188 record, RFC 8291 keys)."""
        if len(body) < 21:
            raise Refused(400, "body too short for an aes128gcm header")
        salt, record_size, id_len = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21 : 21 + id_len]
        ciphertext = body[21 + id_len :]
        if id_len != 65 or len(ciphertext) > record_size:
            raise Refused(400, "aes128gcm header: keyid must be the sender's 65-byte key")
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        shared = self.key.exchange(ec.ECDH(), sender_key)
        info = b"WebPush: info\x00" + _point(self.key.public_key()) + sender
        ikm = _hkdf(self.auth, shared, info, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        try:
            plain = AESGCM(cek).decrypt(nonce, ciphertext, None)
        except InvalidTag:
            raise Refused(400, "could not decrypt the body") from None
        padding_at = plain.rstrip(b"\x00")
        if not padding_at.endswith(b"\x02"):
            raise Refused(400, "the last record's padding delimiter is not 0x02")
        return padding_at[:-1]


@dataclass
class Push:
    """A push the fake accepted: to which browser, its headers, and the decrypted JSON."""

    browser_id: str
    ttl: int
    urgency: str
    vapid_claims: dict
    vapid_key: str
    data: dict


@dataclass
class _State:
    browsers: dict[str, Browser] = field(default_factory=dict)
    pushes: list[Push] = field(default_factory=list)
    failures: deque[int] = field(default_factory=deque)
    attempts: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)


def _verify_vapid(header: str, origin: str) -> tuple[dict, str]:
    """Check `vapid t=<jwt>, k=<key>`; return the JWT's claims and the key; raise Refused."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, "Authorization is not vapid")
    parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    if "t" not in parts or "k" not in parts:
        raise Refused(401, "vapid needs t= and k=")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        head, claims_text, signature = parts["t"].split(".")
        header_json = json.loads(unb64url(head))
        claims = json.loads(unb64url(claims_text))
        raw = unb64url(signature)
    except (ValueError, TypeError):
        raise Refused(401, "malformed vapid token or key") from None
    if header_json.get("alg") != "ES256" or len(raw) != 64:
        raise Refused(401, "vapid token must be ES256")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{head}.{claims_text}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(401, "vapid signature does not match k") from None
    if claims.get("aud") != origin:
        raise Refused(401, f"vapid aud {claims.get('aud')!r} is not {origin!r}")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        raise Refused(401, "vapid exp is missing or past")
    if claims["exp"] > time.time() + 24 * 3600:
        raise Refused(401, "vapid exp more than 24 hours ahead")
    if not claims.get("sub"):
        raise Refused(401, "vapid sub is missing")
    return claims, parts["k"]


def _handler(state: _State, origin: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self, status: int, text: str = "") -> None:
            body = text.encode()
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{origin}/message/{secrets.token_hex(8)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.changed:
                state.attempts += 1
                failure = state.failures.popleft() if state.failures else None
            if failure is not None:
                self._answer(failure, "asked to fail")
                return
            try:
                push = self._accept(body)
            except Refused as exc:
                self._answer(exc.status, str(exc))
                return
            with state.changed:
                state.pushes.append(push)
                state.changed.notify_all()
            self._answer(201)

        def _accept(self, body: bytes) -> Push:
            browser_id = self.path.removeprefix("/push/")
            browser = state.browsers.get(browser_id)
            if not self.path.startswith("/push/") or browser is None:
                raise Refused(404, "no such subscription")
            claims, key = _verify_vapid(self.headers.get("Authorization", ""), origin)
            ttl = self.headers.get("TTL", "")
            if not ttl.isdigit():
                raise Refused(400, "TTL header missing")
            if self.headers.get("Content-Encoding") != "aes128gcm":
                raise Refused(400, "Content-Encoding must be aes128gcm")
            data = json.loads(browser.decrypt(body))
            urgency = self.headers.get("Urgency", "normal")
            return Push(browser.id, int(ttl), urgency, claims, key, data)

    return Handler


class FakePushService:
    """The fake push service; use as a context manager (it serves on a thread)."""

    def __init__(self) -> None:
        self.state = _State()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.RequestHandlerClass = _handler(self.state, self.origin)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakePushService:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self.state.changed:
            self.state.browsers.clear()
            self.state.pushes.clear()
            self.state.failures.clear()
            self.state.attempts = 0

    def subscribe(self) -> Browser:
        """Make a browser subscription (its keys generated here) and return it."""
        browser_id = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        browser = Browser(
            browser_id, key, secrets.token_bytes(16), f"{self.origin}/push/{browser_id}"
        )
        with self.state.changed:
            self.state.browsers[browser_id] = browser
        return browser

    def unsubscribe(self, browser: Browser) -> None:
        """Forget a browser: its endpoint then answers 404, as an expired one does."""
        with self.state.changed:
            self.state.browsers.pop(browser.id, None)

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order (e.g. 410, 429, 500)."""
        with self.state.changed:
            self.state.failures.extend(statuses)

    @property
    def pushes(self) -> list[Push]:
        with self.state.changed:
            return list(self.state.pushes)

    @property
    def attempts(self) -> int:
        with self.state.changed:
            return self.state.attempts

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Push]:
        """Wait until `count` pushes were accepted; return them (fails the test if not)."""
        with self.state.changed:
            done = self.state.changed.wait_for(lambda: len(self.state.pushes) >= count, timeout)
            assert done, f"the fake push service got {len(self.state.pushes)} pushes, not {count}"
            return list(self.state.pushes)
