"""Webhook formats: one module per format, each with a pure `parse(body, headers, options)`."""

from paging.ingest.formats import alertmanager, generic, grafana, pagerduty_v2
from paging.ingest.formats.base import AlertRecord, Event, PayloadError, SignatureError

PARSERS = {
    "generic": generic.parse,
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "pagerduty_v2": pagerduty_v2.parse,
}

__all__ = ["PARSERS", "AlertRecord", "Event", "PayloadError", "SignatureError", "pagerduty_v2"]
