"""Log filters that keep secrets and phone numbers out of every log line."""

import logging
import re

# Secret path segments: integration keys, calendar feed tokens and the signed tokens of voice,
# e-mail and verification links travel in URLs.
_SECRET_PATH = re.compile(
    r"(/(?:integrations|calendar|heartbeat|voice|page|verify|verify-call)/)[^/\s\"'?]+"
)
_PHONE = re.compile(r"\+(\d{2})\d{4,}(\d{2})\b")


def redact(text: str) -> str:
    """Return `text` with URL secrets replaced and phone numbers' middle digits masked."""
    text = _SECRET_PATH.sub(r"\1[redacted]", text)
    return _PHONE.sub(r"+\1***\2", text)


def mask_phone(number: str) -> str:
    """Return a phone number with its middle digits hidden, for display in logs and consoles."""
    return redact(number)


class RedactSecrets(logging.Filter):
    """Rewrite each record's message through `redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
