"""The normalized events every webhook format parses into, and the errors a parser raises.

A parser is a pure function `parse(body, headers, options) -> list[Event]`: no queries, no clock
reads. `options` holds the integration's per-format settings (e.g. Alertmanager grouping, a
Grafana signing secret).
"""

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from oncall import jsonload

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class PayloadError(ValueError):
    """A payload we cannot accept; `field` names the part at fault (a dotted path).

    `errors` lists every problem found, for formats (PagerDuty) that report them all at once.
    """

    def __init__(self, field: str, message: str, errors: list[str] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors = errors or [f"{field}: {message}"]


class SignatureError(Exception):
    """The body's signature is missing or does not match the integration's secret."""


@dataclass(frozen=True)
class AlertRecord:
    """One alert inside an event, identified by `fingerprint` within its incident.

    Formats that resend an alert's current state (Alertmanager, Grafana) give each alert a stable
    fingerprint, so it is updated in place rather than stored twice.
    """

    fingerprint: str
    status: str  # "firing" or "resolved"
    summary: str
    severity: str = "critical"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None  # None while firing
    links: tuple[dict[str, str], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)  # the alert as the tool sent it


@dataclass(frozen=True)
class Event:
    """One incident-level event: open or join (trigger), acknowledge, or resolve.

    `alerts` lists the alerts the event carries (empty for formats that send one alert per
    request: then the event itself is the alert).
    """

    action: str
    summary: str
    severity: str = "critical"
    dedup_key: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    links: tuple[dict[str, str], ...] = ()
    alerts: tuple[AlertRecord, ...] = ()


def _refuse_constant(name: str) -> None:
    # json.loads accepts NaN and Infinity, which no sender emits and PostgreSQL's jsonb refuses.
    raise PayloadError("body", f"is not valid JSON ({name} is not a JSON number)")


def _without_lone_surrogates(value: Any) -> Any:
    """Return `value` with every unpaired UTF-16 surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def load_json_object(body: bytes) -> dict[str, Any]:
    """Return the body decoded as a JSON object, or raise PayloadError for anything else.

    Refuses NaN/Infinity and nesting past the recursion limit. A number no float or int can
    hold (`1e400`) stays the text it was sent as (oncall.jsonload). An escaped NUL or unpaired
    surrogate (`\\ud800`) becomes U+FFFD: PostgreSQL cannot store either, and refusing would
    drop the page.
    """
    try:
        text = body.decode("utf-8").replace("\\u0000", "\\ufffd")
        data = jsonload.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise PayloadError("body", "is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise PayloadError("body", f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except PayloadError:
        raise
    except RecursionError:
        raise PayloadError("body", "is not acceptable JSON (too deeply nested)") from None
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object")
    return _without_lone_surrogates(data) if SURROGATE_ESCAPE.search(text) else data
