"""Grafana Alerting webhook contact point: Alertmanager's payload plus Grafana's extras.

Grafana adds `title`, `state`, `message`, `orgId`, and per alert `dashboardURL`, `panelURL`,
`silenceURL`, `imageURL`, `values`; grouping works as for Alertmanager. The group event's summary
is Grafana's rendered `title`. Per-alert `values` stay in each alert's raw payload.

With a signing secret on the integration, the body must carry Grafana's HMAC-SHA256 signature
(lowercase hex) in the configured header. When the contact point also names a timestamp header
(e.g. `X-Grafana-Alerting-Signature-Timestamp`), Grafana signs `timestamp + ":" + body` and sends
the Unix time in it: a request carrying that header is checked that way, and its timestamp must
lie within `hmac_max_age` seconds of `now` (both given by the caller: a parser reads no clock).
With `hmac_timestamp_required`, a request without the header is refused.

Grafana's legacy (pre-unified alerting) webhook, one rule per request with `ruleName` and
`state`, is accepted too, as one event keyed by the rule.
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from paging.ingest.formats.alertmanager import (
    GROUP_DETAILS,
    Flavor,
    group_details,
    group_events,
    stable_key,
)
from paging.ingest.formats.base import Event, PayloadError, SignatureError, load_json_object
from paging.ingest.formats.common import severity_from, string_map, text, web_link

DEFAULT_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
# What Grafana sends when its Header setting is left blank, despite the placeholder above.
BLANK_SIGNATURE_HEADER = "X-Grafana-Alert-Signature"
GRAFANA = Flavor(
    source="Grafana",
    details=(*GROUP_DETAILS, "title", "state", "message", "orgId"),
    alert_links={
        "generatorURL": "Source",
        "dashboardURL": "Dashboard",
        "panelURL": "Panel",
        "silenceURL": "Silence",
        "imageURL": "Image",
    },
)
LEGACY_STATES = {"alerting": "trigger", "no_data": "trigger", "ok": "resolve"}
LEGACY_DETAILS = (
    "ruleId",
    "ruleName",
    "state",
    "message",
    "orgId",
    "dashboardId",
    "panelId",
    "tags",
    "evalMatches",
)


def _header(headers: Mapping[str, str], name: str) -> str:
    # Django's request.headers ignores case; a plain dict (tests, other callers) does not.
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


def _signature(headers: Mapping[str, str], options: Mapping[str, Any]) -> tuple[str, str]:
    name = options.get("hmac_header") or DEFAULT_SIGNATURE_HEADER
    given = _header(headers, name)
    if not given and name.lower() == DEFAULT_SIGNATURE_HEADER.lower():
        given = _header(headers, BLANK_SIGNATURE_HEADER)
    return name, given.strip().lower().removeprefix("sha256=")


def _stamp(headers: Mapping[str, str], options: Mapping[str, Any]) -> str | None:
    """Return the request's signature timestamp, or None when the untimestamped form may do."""
    name = options.get("hmac_timestamp_header") or ""
    stamp = _header(headers, name).strip() if name else ""
    if not stamp and not options.get("hmac_timestamp_required"):
        return None
    if not stamp.isascii() or not stamp.isdigit():
        raise SignatureError(f"the {name} header is missing or not a Unix timestamp")
    return stamp


def _check_age(stamp: str, options: Mapping[str, Any]) -> None:
    now, max_age = options.get("now"), options.get("hmac_max_age")
    if now is None or max_age is None:
        return
    # Both ways: a timestamp far in the future would otherwise stay replayable for that long.
    if abs(now - int(stamp)) > max_age:
        name = options["hmac_timestamp_header"]
        window = f"{max_age // 60} minutes" if max_age % 60 == 0 else f"{max_age} seconds"
        raise SignatureError(f"the {name} header is more than {window} away from our clock")


def verify(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> None:
    """Raise SignatureError unless the body carries the HMAC the integration's secret gives."""
    secret = options.get("hmac_secret")
    if not secret:
        return
    name, given = _signature(headers, options)
    if not given:
        raise SignatureError(f"the {name} header is missing")
    stamp = _stamp(headers, options)
    signed = body if stamp is None else stamp.encode() + b":" + body
    expected = hmac.new(str(secret).encode(), signed, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII strings, and headers may hold anything.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError(f"the {name} header does not match the body")
    if stamp is not None:
        _check_age(stamp, options)


def _title(data: dict[str, Any]) -> str:
    # Grafana's default title template leaves double spaces (e.g. "[FIRING:2]  (blue)").
    return " ".join(text(data, "title", "title", limit=4096).split())


def _legacy_key(data: dict[str, Any]) -> str:
    rule_id, org_id = data.get("ruleId"), data.get("orgId")
    org = org_id if type(org_id) is int else 0
    if type(rule_id) is int and rule_id > 0:  # `type is`: True is an int too
        rule = str(rule_id)
    else:
        rule = text(data, "ruleName", "ruleName").strip()
    if not rule:
        raise PayloadError("ruleName", "is required when ruleId is absent")
    return stable_key(f"grafana-rule:{org}:{rule}", "grafana-rule:")


def legacy_event(data: dict[str, Any]) -> Event:
    """Parse Grafana's legacy alert notification (one rule, `state` alerting/no_data/ok)."""
    state = data.get("state")
    if not isinstance(state, str) or state not in LEGACY_STATES:
        raise PayloadError("state", f"must be one of {', '.join(LEGACY_STATES)}")
    tags = string_map(data, "tags", "tags")
    summary = _title(data) or text(data, "ruleName", "ruleName").strip() or "Grafana alert"
    links = (
        web_link(data, "ruleUrl", "ruleUrl", "Rule"),
        web_link(data, "imageUrl", "imageUrl", "Image"),
    )
    return Event(
        action=LEGACY_STATES[state],
        summary=summary[:1024],
        severity=severity_from(tags.get("severity")),
        dedup_key=_legacy_key(data),
        details=group_details(data, LEGACY_DETAILS),
        links=tuple(link for link in links if link),
    )


def _is_legacy(data: dict[str, Any]) -> bool:
    return "alerts" not in data and ("ruleName" in data or "ruleId" in data)


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the events a Grafana notification describes, after checking its signature."""
    verify(body, headers, options)
    data = load_json_object(body)
    if _is_legacy(data):
        return [legacy_event(data)]
    return group_events(data, options, GRAFANA, title=_title(data))
