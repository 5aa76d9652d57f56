"""Generic JSON: the simplest format, for scripts and tools with a configurable webhook.

{"summary": "Disk full on db1", "severity": "critical", "dedup_key": "db1-disk",
 "action": "trigger", "details": {...}, "links": [{"href": "...", "text": "..."}]}
"""

from collections.abc import Mapping
from typing import Any

from paging.ingest.formats.base import ACTIONS, SEVERITIES, Event, PayloadError, load_json_object

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


def _text(data: dict[str, Any], name: str, *, limit: int, required: bool = False) -> str:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise PayloadError(name, "must be a string")
    # Stripped before the checks: a blank summary or key is as missing as an absent one.
    value = (value or "").strip()
    if not value and required:
        raise PayloadError(name, "is required")
    if len(value) > limit:
        raise PayloadError(name, f"must be at most {limit} characters")
    return value


def _choice(data: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or value.lower() not in choices:
        raise PayloadError(name, f"must be one of {', '.join(choices)}")
    return value.lower()


def _links(data: dict[str, Any]) -> tuple[dict[str, str], ...]:
    links = data.get("links", [])
    if not isinstance(links, list):
        raise PayloadError("links", "must be a list")
    for i, link in enumerate(links):
        href = link.get("href") if isinstance(link, dict) else None
        if not isinstance(href, str) or not href.strip():
            raise PayloadError(f"links[{i}].href", "is required and must be a string")
    # Only web links: these become hrefs in the UI (javascript: and data: are dropped, not refused,
    # so a page is never lost over a link).
    web = ("http://", "https://")
    return tuple(_link(link) for link in links if link["href"].strip().lower().startswith(web))


def _link(link: dict[str, Any]) -> dict[str, str]:
    href, text = link["href"].strip(), link.get("text")
    # A missing, null or non-text title shows the URL, not "None".
    return {"href": href, "text": text.strip() if isinstance(text, str) and text.strip() else href}


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the one event a generic JSON body describes."""
    data = load_json_object(body)
    action = _choice(data, "action", ACTIONS, "trigger")
    dedup_key = _text(data, "dedup_key", limit=MAX_DEDUP_KEY, required=action != "trigger")
    details = data.get("details", {})
    if not isinstance(details, dict):
        raise PayloadError("details", "must be an object")
    return [
        Event(
            action=action,
            summary=_text(data, "summary", limit=MAX_SUMMARY, required=action == "trigger"),
            severity=_choice(data, "severity", SEVERITIES, "critical"),
            dedup_key=dedup_key,
            details=details,
            links=_links(data),
        )
    ]
