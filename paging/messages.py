"""The words we send: short, single-segment SMS text that any phone shows the same way."""

import unicodedata

SMS_SEGMENT = 160
_SEVERITY_TAG = {"critical": "CRIT", "error": "ERR", "warning": "WARN", "info": "INFO"}
# GSM-7 extension characters that cost two septets each.
_GSM_EXTENDED = set("^{}\\[~]|€")
_REPLACEMENTS = {
    "\u2014": "-",  # em dash
    "\u2013": "-",  # en dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "`": "'",
}


def gsm_safe(text: str) -> str:
    """Return `text` folded to plain characters so the SMS stays GSM-7 (160 per segment)."""
    text = "".join(_REPLACEMENTS.get(ch, ch) for ch in text)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.split())


def gsm_length(text: str) -> int:
    """Return how many GSM-7 septets `text` takes."""
    return sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)


def _fit(head: str, summary: str, tail: str, limit: int) -> str:
    room = limit - gsm_length(head) - gsm_length(tail)
    if gsm_length(summary) > room:
        summary = summary[: max(room - 3, 0)].rstrip() + "..."
        while gsm_length(summary) > room and len(summary) > 3:
            summary = summary[:-4] + "..."
    return head + summary + tail


def sms_page(*, number: int, severity: str, service: str, summary: str, code: int) -> str:
    """Return the page SMS, e.g. `#12 CRIT payments: disk full - reply 1A ack, 1R resolve`."""
    tag = _SEVERITY_TAG.get(severity, severity.upper())
    head = f"#{number} {tag} {gsm_safe(service)}: "
    tail = f" - reply {code}A ack, {code}R resolve"
    return _fit(head, gsm_safe(summary), tail, SMS_SEGMENT)
