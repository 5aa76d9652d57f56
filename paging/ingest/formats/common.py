"""Small parsing helpers the formats share: JSON bodies, timestamps, severities, typed fields."""

import datetime as dt
import re
from typing import Any

from paging.ingest.formats.base import SEVERITIES, PayloadError

# Go (Alertmanager, Grafana) writes RFC 3339 with up to nine fractional digits; Python's
# fromisoformat takes at most six, so the fraction is trimmed before parsing. ASCII only:
# `\d` would otherwise accept other scripts' digits.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
MAX_URL = 8192
# Go's zero time: Alertmanager's endsAt while an alert fires.
ZERO_TIME_PREFIX = "0001-01-01T00:00:00"

_SEVERITY_WORDS = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "page": "critical",
    "p1": "critical",
    "sev1": "critical",
    "high": "critical",
    "disaster": "critical",
    "error": "error",
    "err": "error",
    "major": "error",
    "p2": "error",
    "sev2": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "medium": "warning",
    "average": "warning",
    "p3": "warning",
    "sev3": "warning",
    "info": "info",
    "informational": "info",
    "information": "info",
    "low": "info",
    "none": "info",
    "ok": "info",
    "p4": "info",
    "p5": "info",
    "sev4": "info",
}


def severity_from(word: object, default: str = "critical") -> str:
    """Return the severity a label value names; unknown or missing → `default`.

    A missing severity pages as critical: waking someone for nothing beats a silent outage.
    """
    if not isinstance(word, str):
        return default
    return _SEVERITY_WORDS.get(word.strip().lower(), default)


def most_severe(severities: list[str]) -> str:
    """Return the most severe of `severities` (critical first); critical for none."""
    return min(severities, key=SEVERITIES.index, default="critical")


def timestamp(value: object, field: str) -> dt.datetime | None:
    """Parse an RFC 3339 timestamp into aware UTC; Go's zero time and empty give None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(field, "must be an RFC 3339 timestamp string")
    if value.startswith(ZERO_TIME_PREFIX):
        return None
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise PayloadError(field, f"is not an RFC 3339 timestamp: {value[:40]!r}")
    date, time, fraction, zone = match.groups()
    fraction = f".{fraction[:6]}" if fraction else ""
    zone = "+00:00" if zone in "Zz" else zone
    try:
        parsed = dt.datetime.fromisoformat(f"{date}T{time}{fraction}{zone}")
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        # Month 13, hour 25, or year 1 / 9999 pushed out of range by the offset.
        raise PayloadError(field, f"is not a valid date-time: {value[:40]!r}") from None


def obj(data: dict[str, Any], name: str, field: str, *, required: bool = False) -> dict:
    """Return `data[name]` as an object ({} when absent and not required)."""
    value = data.get(name)
    if value is None:
        if required:
            raise PayloadError(field, "is required")
        return {}
    if not isinstance(value, dict):
        raise PayloadError(field, "must be an object")
    return value


def string_map(data: dict[str, Any], name: str, field: str) -> dict[str, str]:
    """Return `data[name]` as an object of strings (labels, annotations)."""
    value = obj(data, name, field)
    for key, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{field}.{key}", "must be a string")
    return value


def text(data: dict[str, Any], name: str, field: str, *, limit: int = 4096) -> str:
    """Return `data[name]` as a string, '' when absent; cut to `limit` characters."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(field, "must be a string")
    return value[:limit]


def web_link(data: dict[str, Any], name: str, field: str, label: str) -> dict[str, str] | None:
    """Return `data[name]` as a link labelled `label` if it is an http(s) URL, else None.

    Other schemes (javascript:, data:) are dropped, since these links end up as hrefs in the UI,
    and so are URLs too long to keep whole: a cut URL leads nowhere.
    """
    href = text(data, name, field, limit=MAX_URL + 1).strip()
    if len(href) > MAX_URL or not href.lower().startswith(("http://", "https://")):
        return None
    return {"href": href, "text": label}
