"""Prometheus Alertmanager webhook (payload version 4).

Every notification carries the group's whole current set of alerts, so alerts are identified by
`fingerprint` and updated in place. By default the group (`groupKey`) is one incident, resolved
when the notification's status says the whole group is resolved; with `grouping: alert` each
alert fingerprint is its own incident. Unknown fields are ignored: newer versions add some.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from paging.integrations.base import AlertRecord, Event, PayloadError, load_json_object
from paging.integrations.common import most_severe, obj, severity_from, string_map, text
from paging.integrations.common import timestamp as parse_time

MAX_SUMMARY = 1024
MAX_KEY = 255
STATUSES = ("firing", "resolved")


def stable_key(value: str, prefix: str) -> str:
    """Return `value` if it fits a dedup key, else a stable digest of it."""
    if len(value) <= MAX_KEY:
        return value
    return prefix + hashlib.sha256(value.encode()).hexdigest()


def _fingerprint(alert: dict[str, Any], labels: dict[str, str]) -> str:
    given = alert.get("fingerprint")
    if isinstance(given, str) and given:
        return stable_key(given, "fp:")
    # Versions before 0.19 sent none: derive one from the labels, which identify an alert.
    canonical = "\x1f".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def alert_summary(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    """Return what a responder reads first: summary, description, else the alert's name."""
    for candidate in (annotations.get("summary"), annotations.get("description")):
        if candidate and candidate.strip():
            return candidate.strip()[:MAX_SUMMARY]
    return (labels.get("alertname") or "Alertmanager alert")[:MAX_SUMMARY]


def _links(alert: dict[str, Any], field: str, extra: Mapping[str, str]) -> tuple[dict, ...]:
    named = {"generatorURL": "Source", **extra}
    links = []
    for name, label in named.items():
        href = text(alert, name, f"{field}.{name}")
        if href:
            links.append({"href": href, "text": label})
    return tuple(links)


def alert_record(alert: object, field: str, link_fields: Mapping[str, str]) -> AlertRecord:
    """Parse one entry of `alerts[]`."""
    if not isinstance(alert, dict):
        raise PayloadError(field, "must be an object")
    status = alert.get("status")
    if status not in STATUSES:
        raise PayloadError(f"{field}.status", "must be firing or resolved")
    labels = string_map(alert, "labels", f"{field}.labels")
    annotations = string_map(alert, "annotations", f"{field}.annotations")
    ends_at = parse_time(alert.get("endsAt"), f"{field}.endsAt")
    return AlertRecord(
        fingerprint=_fingerprint(alert, labels),
        status=status,
        summary=alert_summary(labels, annotations),
        severity=severity_from(labels.get("severity")),
        labels=labels,
        annotations=annotations,
        starts_at=parse_time(alert.get("startsAt"), f"{field}.startsAt"),
        ends_at=ends_at if status == "resolved" else None,
        links=_links(alert, field, link_fields),
        raw=alert,
    )


def alert_records(data: dict[str, Any], link_fields: Mapping[str, str]) -> list[AlertRecord]:
    """Parse `alerts[]`, keeping the last of any fingerprint repeated in one payload."""
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts", "must be a non-empty list")
    records = [alert_record(a, f"alerts[{i}]", link_fields) for i, a in enumerate(alerts)]
    return list({r.fingerprint: r for r in records}.values())


def _group_title(data: dict[str, Any], records: list[AlertRecord]) -> str:
    firing = [r for r in records if r.status == "firing"]
    if len(firing) == 1:
        return firing[0].summary
    labels = {
        **obj(data, "commonLabels", "commonLabels"),
        **obj(data, "groupLabels", "groupLabels"),
    }
    name = labels.pop("alertname", "") or "alerts"
    rest = " ".join(str(v) for k, v in sorted(labels.items()) if k != "severity")
    count = f"[FIRING:{len(firing)}]" if firing else f"[RESOLVED:{len(records)}]"
    return f"{count} {name}" + (f" ({rest})" if rest else "")


def group_details(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Return the notification's group-level fields worth keeping on the incident."""
    return {name: data[name] for name in names if data.get(name) not in (None, "", {}, [])}


def group_events(
    data: dict[str, Any],
    options: Mapping[str, Any],
    *,
    title: str = "",
    details: tuple[str, ...] = (),
    link_fields: Mapping[str, str] | None = None,
) -> list[Event]:
    """Turn a notification into events: one per group, or one per alert with `grouping: alert`."""
    records = alert_records(data, link_fields or {})
    kept = group_details(
        data,
        (
            "receiver",
            "groupLabels",
            "commonLabels",
            "commonAnnotations",
            "externalURL",
            "truncatedAlerts",
            *details,
        ),
    )
    source = text(data, "externalURL", "externalURL")
    links = ({"href": source, "text": "Alertmanager"},) if source else ()
    if options.get("grouping") == "alert":
        return [_alert_event(r, kept, links) for r in records]
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey", "is required")
    firing = [r.severity for r in records if r.status == "firing"]
    status = data.get("status")
    resolved = status == "resolved" if status in STATUSES else not firing
    return [
        Event(
            action="resolve" if resolved else "trigger",
            summary=(title or _group_title(data, records))[:MAX_SUMMARY],
            severity=most_severe(firing or [r.severity for r in records]),
            dedup_key=stable_key(group_key, "am:"),
            details=kept,
            links=links,
            alerts=tuple(records),
        )
    ]


def _alert_event(record: AlertRecord, details: dict, links: tuple) -> Event:
    return Event(
        action="resolve" if record.status == "resolved" else "trigger",
        summary=record.summary,
        severity=record.severity,
        dedup_key=record.fingerprint,
        details=details,
        links=record.links + links,
        alerts=(record,),
    )


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the events an Alertmanager notification describes."""
    data = load_json_object(body)
    return group_events(data, options)
