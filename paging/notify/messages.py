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
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_BREAKS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029], " ")


def one_line(text: str) -> str:
    """Return `text` as one line: line breaks and control characters become single spaces.

    For every header or single-line field that carries alert text (an e-mail Subject, an SMS, a
    call's words): a newline there makes a mail library refuse the message, and a control
    character makes the XML a call is spoken from invalid.
    """
    return " ".join(text.translate(_BREAKS).split())


def gsm_safe(text: str) -> str:
    """Return `text` folded to plain characters so the SMS stays GSM-7 (160 per segment)."""
    text = "".join(_REPLACEMENTS.get(ch, ch) for ch in text)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return one_line(folded)


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


def _bundle_items(items: list[tuple[int, str, str, int]], summary_room: int) -> list[str]:
    parts = []
    for number, service, summary, code in items:
        text = gsm_safe(summary)
        if summary_room <= 0:
            parts.append(f"#{number} {gsm_safe(service)} ({code}A)")
            continue
        if len(text) > summary_room:
            text = text[: max(summary_room - 2, 1)].rstrip() + ".."
        parts.append(f"#{number} {gsm_safe(service)}: {text} ({code}A)")
    return parts


def sms_bundle(items: list[tuple[int, str, str, int]], *, bundle_code: int) -> str:
    """Return one SMS for several pages: `3 incidents: #12 payments: disk (1A); ... reply 100A`.

    `items` are (incident number, service, summary, reply code). Summaries shrink, then go,
    then incidents are counted as "+N more", so the text stays one segment.
    """
    head = f"{len(items)} incidents: "
    tail = f" - reply {bundle_code}A to ack all"
    for shown in range(len(items), 0, -1):
        more = f" +{len(items) - shown} more" if shown < len(items) else ""
        for room in (40, 30, 20, 12, 0):
            text = head + "; ".join(_bundle_items(items[:shown], room)) + more + tail
            if gsm_length(text) <= SMS_SEGMENT:
                return text
    return _fit(head, f"#{items[0][0]} +{len(items) - 1} more", tail, SMS_SEGMENT)
