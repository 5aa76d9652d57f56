"""The server's VAPID key for push notifications (RFC 8292), read from settings.

Errors name the setting and what is wrong with it, never the key.
"""

import base64
import binascii
import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02

KEY = "WEBPUSH_VAPID_PRIVATE_KEY"
SUBJECT = "WEBPUSH_VAPID_SUBJECT"


class VapidError(Exception):
    """The VAPID settings are missing or malformed; the message is safe to show."""


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=4)
def _parse(text: str) -> ec.EllipticCurvePrivateKey:
    """Return the P-256 private key in `text`: PEM, or base64url of the raw 32 bytes or DER."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = _b64url("".join(text.split()))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error):
        raise VapidError(f"{KEY} is not a readable private key (PEM or base64url)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise VapidError(f"{KEY} is not a P-256 (prime256v1) elliptic curve key")
    return key


def push_configured() -> bool:
    """Return whether a VAPID key is set (it may still be malformed: see `vapid_problems`)."""
    return bool(getattr(settings, KEY, ""))


def vapid() -> Vapid02:
    """Return the signer made from the settings' key; raise VapidError if it is missing or bad."""
    text = getattr(settings, KEY, "")
    if not text:
        raise VapidError(f"{KEY} is not set")
    return Vapid02(_parse(text))


def public_key() -> str:
    """Return the public key browsers subscribe with (applicationServerKey), base64url."""
    point = vapid().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def subject() -> str:
    """Return the VAPID subject (`sub`); raise VapidError unless it is a mailto: or https: URL."""
    value = getattr(settings, SUBJECT, "")
    if not value.startswith(("mailto:", "https://")):
        raise VapidError(f"{SUBJECT} must be a mailto: or https: URL (e.g. mailto:ops@example.com)")
    return value


def vapid_problems() -> list[str]:
    """Return what is wrong with the push settings, in words (empty when push can be sent)."""
    problems = []
    for read in (vapid, subject):
        try:
            read()
        except VapidError as exc:
            problems.append(str(exc))
    return problems
