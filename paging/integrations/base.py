"""The normalized event every webhook format parses into, and the error a bad payload raises."""

import json
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


class PayloadError(ValueError):
    """A payload we cannot accept; `field` names the part at fault (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Event:
    """One alert event, whatever format it came in."""

    action: str
    summary: str
    severity: str = "critical"
    dedup_key: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    links: tuple[dict[str, str], ...] = ()


def load_json_object(body: bytes) -> dict[str, Any]:
    """Return the body decoded as a JSON object, or raise PayloadError."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("body", "is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise PayloadError("body", f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object")
    return data
