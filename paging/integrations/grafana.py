"""Grafana Alerting webhook contact point: Alertmanager's payload plus Grafana's extras.

Grafana adds `title`, `state`, `message`, `orgId`, and per alert `dashboardURL`, `panelURL`,
`silenceURL`, `values`; grouping works as for Alertmanager. With a signing secret set on the
integration, the body must carry Grafana's HMAC-SHA256 signature (hex) in the configured header.
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from paging.integrations.alertmanager import group_events
from paging.integrations.base import Event, SignatureError, load_json_object
from paging.integrations.common import text

DEFAULT_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
ALERT_LINKS = {"dashboardURL": "Dashboard", "panelURL": "Panel", "silenceURL": "Silence"}


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


def verify(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> None:
    """Raise SignatureError unless the body carries the HMAC the integration's secret gives."""
    secret = options.get("hmac_secret")
    if not secret:
        return
    name = options.get("hmac_header") or DEFAULT_SIGNATURE_HEADER
    given = _header(headers, name).strip().lower().removeprefix("sha256=")
    if not given:
        raise SignatureError(f"the {name} header is missing")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given, expected):
        raise SignatureError(f"the {name} header does not match the body")


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the events a Grafana notification describes, after checking its signature."""
    verify(body, headers, options)
    data = load_json_object(body)
    title = text(data, "title", "title", limit=1024).strip()
    return group_events(
        data,
        options,
        title=title,
        details=("title", "state", "message", "orgId"),
        link_fields=ALERT_LINKS,
    )
