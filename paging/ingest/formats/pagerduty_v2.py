"""PagerDuty Events API v2 (`POST /v2/enqueue`), so any Events API client works unchanged.

Validation follows PagerDuty's, in its words where they are known: every problem is listed at
once. One leniency: PagerDuty refuses a summary longer than 1024 characters, but here it is cut,
since refusing would drop a page (Alertmanager and most clients cut it themselves anyway).

Links and `client_url` become links only when they are http(s) URLs: they end up as hrefs in the
UI. The routing key is checked for its length only: our keys are URL-safe, not alphanumeric, and
any length an integration key may have (16 to 64 characters) is taken, not only PagerDuty's 32.
"""

from collections.abc import Mapping
from typing import Any

from paging.ingest.formats.base import ACTIONS, SEVERITIES, Event, PayloadError, load_json_object
from paging.ingest.formats.common import web_link
from paging.models import KEY_MAX, KEY_MIN

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_SOURCE = 1024
MAX_LINK_TEXT = 1024
OPTIONAL_TEXT = ("component", "group", "class", "timestamp")
OPTIONAL_ENVELOPE_TEXT = ("client", "client_url")
# PagerDuty's own words (as its 400 answers quote them), so searching an error finds answers.
BAD_ROUTING_KEY_LENGTH = (
    f"Length of 'routing_key' is incorrect (should be {KEY_MIN} to {KEY_MAX} characters)"
)
BAD_SEVERITY = (
    "'payload.severity' is invalid "
    "(must be one of the following: 'critical', 'warning', 'error' or 'info')"
)
BAD_ACTION = (
    "'event_action' is invalid "
    "(must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
)

Problem = tuple[str, str]  # (dotted field, PagerDuty-style message)


def routing_key(body: bytes) -> str | None:
    """Return the event's routing key, or None if the body has no string one."""
    try:
        data = load_json_object(body)
    except PayloadError:
        return None
    key = data.get("routing_key")
    return key if isinstance(key, str) else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text_problem(value: object, name: str) -> Problem | None:
    """Return the problem with a required string field, if any."""
    if _blank(value):
        return (name, f"'{name}' is missing or blank")
    if not isinstance(value, str):
        return (name, f"'{name}' must be a string")
    return None


def _routing_key_problems(key: object) -> list[Problem]:
    problem = _text_problem(key, "routing_key")
    if problem:
        return [problem]
    if isinstance(key, str) and not KEY_MIN <= len(key) <= KEY_MAX:
        return [("routing_key", BAD_ROUTING_KEY_LENGTH)]
    return []


def _action_problems(action: object) -> list[Problem]:
    if _blank(action):
        return [("event_action", "'event_action' is missing or blank")]
    if action not in ACTIONS:
        return [("event_action", BAD_ACTION)]
    return []


def _dedup_key_problems(dedup: object, action: object) -> list[Problem]:
    if dedup is not None and not isinstance(dedup, str):
        return [("dedup_key", "'dedup_key' must be a string")]
    if dedup is not None and len(dedup) > MAX_DEDUP_KEY:
        message = f"Length of 'dedup_key' must be less than or equal to {MAX_DEDUP_KEY}"
        return [("dedup_key", message)]
    if action in ("acknowledge", "resolve") and _blank(dedup):
        # Without a key there is nothing to act on; a trigger gets one generated instead.
        return [("dedup_key", f"'dedup_key' is required to {action}")]
    return []


def _severity_problems(severity: object) -> list[Problem]:
    if _blank(severity):
        return [("payload.severity", "'payload.severity' is missing or blank")]
    if severity not in SEVERITIES:  # case matters to PagerDuty too: "Critical" is refused
        return [("payload.severity", BAD_SEVERITY)]
    return []


def _payload_problems(payload: object) -> list[Problem]:
    if not isinstance(payload, dict):
        return [("payload", "'payload' is missing or not an object")]
    problems = [
        problem
        for name in ("summary", "source")
        if (problem := _text_problem(payload.get(name), f"payload.{name}"))
    ]
    source = payload.get("source")
    if isinstance(source, str) and len(source) > MAX_SOURCE:
        message = f"Length of 'payload.source' must be less than or equal to {MAX_SOURCE}"
        problems.append(("payload.source", message))
    problems += _severity_problems(payload.get("severity"))
    return problems + _optional_text_problems(payload, OPTIONAL_TEXT, "payload.")


def _optional_text_problems(
    data: dict[str, Any], names: tuple[str, ...], prefix: str = ""
) -> list[Problem]:
    return [
        (f"{prefix}{name}", f"'{prefix}{name}' must be a string")
        for name in names
        if data.get(name) is not None and not isinstance(data[name], str)
    ]


def _list_problems(data: dict[str, Any], name: str, required: str) -> list[Problem]:
    items = data.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        return [(name, f"'{name}' must be a list")]
    return [
        (f"{name}[{i}].{required}", f"'{name}[{i}].{required}' is missing or blank")
        for i, item in enumerate(items)
        if not isinstance(item, dict) or _text_problem(item.get(required), name) is not None
    ]


def _problems(data: dict[str, Any]) -> list[Problem]:
    """Return every problem with a decoded event, in PagerDuty's words; [] if it is valid."""
    action = data.get("event_action")
    found = _routing_key_problems(data.get("routing_key")) + _action_problems(action)
    found += _dedup_key_problems(data.get("dedup_key"), action)
    if action == "trigger":
        # Acknowledge and resolve need no payload; Alertmanager sends one anyway, unchecked here.
        found += _payload_problems(data.get("payload"))
    found += _list_problems(data, "links", "href") + _list_problems(data, "images", "src")
    return found + _optional_text_problems(data, OPTIONAL_ENVELOPE_TEXT)


def _details(data: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    kept = {name: payload[name] for name in ("source", *OPTIONAL_TEXT) if payload.get(name)}
    if payload.get("custom_details") is not None:
        kept["custom_details"] = payload["custom_details"]
    for name in ("client", "client_url", "images"):
        if data.get(name):
            kept[name] = data[name]
    return kept


def _link(link: dict[str, Any], where: str) -> dict[str, str] | None:
    text = link.get("text")
    label = text.strip() if isinstance(text, str) and text.strip() else link["href"].strip()
    return web_link(link, "href", where, label[:MAX_LINK_TEXT])


def _client_link(data: dict[str, Any]) -> dict[str, str] | None:
    client = (data.get("client") or "").strip()
    url = (data.get("client_url") or "").strip()
    return web_link(data, "client_url", "client_url", client[:MAX_LINK_TEXT] or url)


def _links(data: dict[str, Any]) -> tuple[dict[str, str], ...]:
    found = [_link(link, f"links[{i}].href") for i, link in enumerate(data.get("links") or [])]
    found.append(_client_link(data))
    return tuple(link for link in found if link)


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the one event an Events API v2 body describes."""
    data = load_json_object(body)
    found = _problems(data)
    if found:
        field, message = found[0]
        raise PayloadError(field, message, errors=[message for _, message in found])
    payload = data["payload"] if isinstance(data.get("payload"), dict) else {}
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
