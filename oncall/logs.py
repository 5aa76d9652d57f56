"""Log formatting that keeps secrets and phone numbers out of every log line.

Redaction happens in the formatters, on the finished text (message, arguments and traceback
alike), so no handler can write a line that skipped it. `LOG_FORMAT=json` writes one JSON object
per line with the request id that caused it.
"""

import json
import logging
import re
import time
from functools import lru_cache

# Secret path segments: integration keys, calendar feed tokens and the signed tokens of voice,
# e-mail and verification links travel in URLs.
_SECRET_PATH = re.compile(
    r"(/(?:integrations|calendar|heartbeat|voice|page|verify|verify-call)/)[^/\s\"'?]+"
)
# PagerDuty Events v2 bodies carry the integration key as routing_key.
_ROUTING_KEY = re.compile(r"""(routing_key['"]?\s*[:=]\s*['"]?)[^'"\s,}&]+""")
# API bearer tokens (accounts.models.ApiToken.PREFIX).
_API_TOKEN = re.compile(r"\boc_[A-Za-z0-9_-]{8,}")
_PHONE = re.compile(r"\+(\d{2})\d{4,}(\d{2})\b")
# The same numbers URL-encoded, as in form bodies and query strings (%2B15550100001).
_PHONE_ENCODED = re.compile(r"%2B(\d{2})\d{4,}(\d{2})\b", re.IGNORECASE)


@lru_cache(maxsize=8)
def _literal_secrets(*values: str) -> re.Pattern | None:
    usable = [re.escape(v) for v in values if len(v) >= 8]
    return re.compile("|".join(usable)) if usable else None


def _configured_secrets() -> re.Pattern | None:
    """Return a pattern of the secrets set in settings (the Twilio auth token...)."""
    from django.conf import settings

    if not settings.configured:
        return None
    names = ("TWILIO_AUTH_TOKEN", "SECRET_KEY", "EMAIL_HOST_PASSWORD", "METRICS_TOKEN")
    return _literal_secrets(*(str(getattr(settings, n, "") or "") for n in names))


def redact(text: str) -> str:
    """Return `text` with secrets replaced and phone numbers' middle digits masked."""
    text = _SECRET_PATH.sub(r"\1[redacted]", text)
    text = _ROUTING_KEY.sub(r"\1[redacted]", text)
    text = _API_TOKEN.sub("oc_[redacted]", text)
    secrets = _configured_secrets()
    if secrets is not None:
        text = secrets.sub("[redacted]", text)
    text = _PHONE_ENCODED.sub(r"%2B\1***\2", text)
    return _PHONE.sub(r"+\1***\2", text)


def mask_phone(number: str) -> str:
    """Return a phone number with its middle digits hidden, for display in logs and consoles."""
    return redact(number)


class RedactSecrets(logging.Filter):
    """Rewrite each record's message through `redact` (for handlers not using our formatters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class PlainFormatter(logging.Formatter):
    """Human-readable lines, redacted, in UTC."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception; redacted."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "") or None,
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)
