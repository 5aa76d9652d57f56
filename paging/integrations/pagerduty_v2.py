"""PagerDuty Events API v2 (`POST /v2/enqueue`), so any Events API client works unchanged.

Validation follows PagerDuty's: every problem is listed at once. One leniency: a summary longer
than 1024 characters is cut rather than refused, since refusing would drop a page.
"""

import json
from collections.abc import Mapping
from typing import Any

from paging.integrations.base import ACTIONS, SEVERITIES, Event, PayloadError, load_json_object

ROUTING_KEY_LENGTH = 32
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_FIELD = 1024
OPTIONAL_TEXT = ("component", "group", "class", "timestamp")


def routing_key(body: bytes) -> str | None:
    """Return the event's routing key, or None if the body has no string one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    key = data.get("routing_key") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _envelope_errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    errors = []
    key, action = data.get("routing_key"), data.get("event_action")
    if _blank(key):
        errors.append(("routing_key", "'routing_key' is missing or blank"))
    elif len(key) != ROUTING_KEY_LENGTH:
        errors.append(("routing_key", "Length of 'routing_key' is incorrect (should be 32)"))
    if action not in ACTIONS:
        errors.append(
            (
                "event_action",
                "'event_action' is invalid (must be one of trigger, acknowledge, resolve)",
            )
        )
    dedup = data.get("dedup_key")
    if dedup is not None and not isinstance(dedup, str):
        errors.append(("dedup_key", "'dedup_key' must be a string"))
    elif isinstance(dedup, str) and len(dedup) > MAX_DEDUP_KEY:
        errors.append(("dedup_key", f"Length of 'dedup_key' must be at most {MAX_DEDUP_KEY}"))
    elif action in ("acknowledge", "resolve") and _blank(dedup):
        errors.append(("dedup_key", f"'dedup_key' is required to {action}"))
    return errors


def _payload_errors(payload: object) -> list[tuple[str, str]]:
    if not isinstance(payload, dict):
        return [("payload", "'payload' is missing or not an object")]
    errors = []
    for name in ("summary", "source"):
        if _blank(payload.get(name)):
            errors.append((f"payload.{name}", f"'payload.{name}' is missing or blank"))
    if isinstance(payload.get("source"), str) and len(payload["source"]) > MAX_FIELD:
        errors.append(("payload.source", f"Length of 'payload.source' must be at most {MAX_FIELD}"))
    if payload.get("severity") not in SEVERITIES:
        errors.append(
            (
                "payload.severity",
                f"'payload.severity' is invalid (must be one of {', '.join(SEVERITIES)})",
            )
        )
    for name in OPTIONAL_TEXT:
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            errors.append((f"payload.{name}", f"'payload.{name}' must be a string"))
    return errors


def _list_errors(data: dict[str, Any], name: str, required: str) -> list[tuple[str, str]]:
    items = data.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        return [(name, f"'{name}' must be a list")]
    return [
        (f"{name}[{i}].{required}", f"'{name}[{i}].{required}' is missing or blank")
        for i, item in enumerate(items)
        if not isinstance(item, dict) or _blank(item.get(required))
    ]


def _validate(data: dict[str, Any]) -> None:
    errors = _envelope_errors(data)
    if data.get("event_action") == "trigger":
        errors += _payload_errors(data.get("payload"))
    errors += _list_errors(data, "links", "href") + _list_errors(data, "images", "src")
    if errors:
        field, message = errors[0]
        raise PayloadError(field, message, errors=[m for _, m in errors])


def _details(data: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    kept = {name: payload[name] for name in ("source", *OPTIONAL_TEXT) if payload.get(name)}
    if payload.get("custom_details") is not None:
        kept["custom_details"] = payload["custom_details"]
    for name in ("client", "client_url", "images"):
        if data.get(name):
            kept[name] = data[name]
    return kept


def _links(data: dict[str, Any]) -> tuple[dict[str, str], ...]:
    links = [
        {"href": link["href"], "text": str(link.get("text") or link["href"])}
        for link in data.get("links") or []
    ]
    if isinstance(data.get("client_url"), str) and data["client_url"]:
        client = data.get("client") if isinstance(data.get("client"), str) else ""
        links.append({"href": data["client_url"], "text": client or data["client_url"]})
    return tuple(links)


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the one event an Events API v2 body describes."""
    data = load_json_object(body)
    _validate(data)
    payload = data.get("payload") if isinstance(data.get("payload"), dict) else {}
    summary = payload.get("summary") if isinstance(payload.get("summary"), str) else ""
    severity = payload.get("severity")
    return [
        Event(
            action=data["event_action"],
            summary=summary.strip()[:MAX_SUMMARY],
            severity=severity if severity in SEVERITIES else "critical",
            dedup_key=data.get("dedup_key") or "",
            details=_details(data, payload),
            links=_links(data),
        )
    ]
