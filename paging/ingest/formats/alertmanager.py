"""Prometheus Alertmanager webhook (payload version 4).

Every notification carries the group's whole current set of alerts, so alerts are identified by
`fingerprint` and updated in place. By default (`grouping: group`) the group (`groupKey`) is one
incident, resolved when the notification says the whole group is resolved; with
`grouping: alert` each alert fingerprint is its own incident. Unknown fields are ignored: newer
versions add some.

Severity comes from the `severity` label; a missing or unknown one pages as critical.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paging.ingest.formats.base import AlertRecord, Event, PayloadError, load_json_object
from paging.ingest.formats.common import (
    most_severe,
    severity_from,
    string_map,
    web_link,
)
from paging.ingest.formats.common import timestamp as parse_time

MAX_SUMMARY = 1024
MAX_KEY = 255
STATUSES = ("firing", "resolved")
GROUP_DETAILS = (
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "truncatedAlerts",
)


@dataclass(frozen=True)
class Flavor:
    """What differs between the tools that send Alertmanager-shaped notifications."""

    source: str = "Alertmanager"  # the text of the externalURL link
    details: tuple[str, ...] = GROUP_DETAILS
    alert_links: dict[str, str] = field(default_factory=lambda: {"generatorURL": "Source"})


ALERTMANAGER = Flavor()


def stable_key(value: str, prefix: str) -> str:
    """Return `value` if it fits a dedup key, else `prefix` and a stable digest of it."""
    if len(value) <= MAX_KEY:
        return value
    return prefix + hashlib.sha256(value.encode()).hexdigest()


def _fingerprint(alert: dict[str, Any], labels: dict[str, str]) -> str:
    given = alert.get("fingerprint")
    if isinstance(given, str) and given.strip():
        return stable_key(given.strip(), "fp:")
    # Versions before 0.19 sent none: derive one from the labels, which identify an alert.
    canonical = json.dumps(labels, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def alert_summary(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    """Return what a responder reads first: summary, description, else the alert's name."""
    for candidate in (annotations.get("summary"), annotations.get("description")):
        if candidate and candidate.strip():
            return candidate.strip()[:MAX_SUMMARY]
    name = (labels.get("alertname") or "").strip()
    return (name or "Alertmanager alert")[:MAX_SUMMARY]


def _alert_links(alert: dict[str, Any], where: str, flavor: Flavor) -> tuple[dict, ...]:
    found = (
        web_link(alert, name, f"{where}.{name}", label)
        for name, label in flavor.alert_links.items()
    )
    return tuple(link for link in found if link)


def _status(alert: dict[str, Any], where: str) -> str:
    status = alert.get("status")
    if status not in STATUSES:
        raise PayloadError(f"{where}.status", "must be firing or resolved")
    return status


def alert_record(alert: object, where: str, flavor: Flavor = ALERTMANAGER) -> AlertRecord:
    """Parse one entry of `alerts[]`; `where` is its path in the payload, e.g. alerts[2]."""
    if not isinstance(alert, dict):
        raise PayloadError(where, "must be an object")
    status = _status(alert, where)
    labels = string_map(alert, "labels", f"{where}.labels")
    annotations = string_map(alert, "annotations", f"{where}.annotations")
    ends_at = parse_time(alert.get("endsAt"), f"{where}.endsAt")
    return AlertRecord(
        fingerprint=_fingerprint(alert, labels),
        status=status,
        summary=alert_summary(labels, annotations),
        severity=severity_from(labels.get("severity")),
        labels=labels,
        annotations=annotations,
        starts_at=parse_time(alert.get("startsAt"), f"{where}.startsAt"),
        # A firing alert's endsAt is Go's zero time, or when Alertmanager would time it out.
        ends_at=ends_at if status == "resolved" else None,
        links=_alert_links(alert, where, flavor),
        raw=alert,
    )


def alert_records(data: dict[str, Any], flavor: Flavor = ALERTMANAGER) -> list[AlertRecord]:
    """Parse `alerts[]`, keeping the last of any fingerprint repeated in one payload."""
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts", "must be a non-empty list")
    records = [alert_record(a, f"alerts[{i}]", flavor) for i, a in enumerate(alerts)]
    return list({r.fingerprint: r for r in records}.values())


def _label_values(labels: Mapping[str, str]) -> list[str]:
    # Alertmanager's SortedPairs: alertname first, then the others by name.
    names = sorted(labels, key=lambda name: (name != "alertname", name))
    return [labels[name].strip() for name in names if labels[name].strip()]


def group_title(data: dict[str, Any], records: list[AlertRecord]) -> str:
    """Return the group's one-line summary, shaped like Alertmanager's default title.

    One firing alert (or a single alert) speaks for itself; otherwise e.g.
    "[FIRING:3] DiskFull prod (node)": the alert name and the group's label values, then in
    brackets the other labels every alert shares (severity left out: it is shown apart).
    """
    firing = [r for r in records if r.status == "firing"]
    if len(firing) == 1 or len(records) == 1:
        return (firing or records)[0].summary
    common = string_map(data, "commonLabels", "commonLabels")
    named = {"alertname": common["alertname"]} if "alertname" in common else {}
    head = {**named, **string_map(data, "groupLabels", "groupLabels")}
    rest = {k: v for k, v in common.items() if k not in head and k != "severity"}
    words = [f"[FIRING:{len(firing)}]" if firing else f"[RESOLVED:{len(records)}]"]
    words.append(" ".join(_label_values(head)) or "alerts")
    if _label_values(rest):
        words.append(f"({' '.join(_label_values(rest))})")
    return " ".join(words)[:MAX_SUMMARY]


def group_details(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Return the notification's group-level fields worth keeping on the incident."""
    return {name: data[name] for name in names if data.get(name) not in (None, "", {}, [])}


def _group_key(data: dict[str, Any]) -> str:
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key.strip():
        raise PayloadError("groupKey", "is required (a non-empty string)")
    return stable_key(group_key, "am:")


def _group_action(data: dict[str, Any], records: list[AlertRecord]) -> str:
    # Alertmanager says "resolved" only when every alert is; an alert still firing in the body
    # (from a sender that disagrees with itself) keeps the incident open: paging is safer.
    firing = any(r.status == "firing" for r in records)
    status = data.get("status")
    resolved = not firing and (status == "resolved" or status not in STATUSES)
    return "resolve" if resolved else "trigger"


def _group_event(
    data: dict[str, Any], records: list[AlertRecord], details: dict, links: tuple, title: str
) -> Event:
    firing = [r.severity for r in records if r.status == "firing"]
    return Event(
        action=_group_action(data, records),
        summary=(title or group_title(data, records))[:MAX_SUMMARY],
        severity=most_severe(firing or [r.severity for r in records]),
        dedup_key=_group_key(data),
        details=details,
        links=links,
        alerts=tuple(records),
    )


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


def group_events(
    data: dict[str, Any], options: Mapping[str, Any], flavor: Flavor = ALERTMANAGER, title: str = ""
) -> list[Event]:
    """Turn a notification into events: one per group, or one per alert with `grouping: alert`.

    `title`, when given, is the group event's summary (Grafana renders its own).
    """
    records = alert_records(data, flavor)
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        string_map(data, name, name)  # checked whatever the grouping: same payload, same verdict
    details = group_details(data, flavor.details)
    source = web_link(data, "externalURL", "externalURL", flavor.source)
    links = (source,) if source else ()
    if options.get("grouping") == "alert":
        return [_alert_event(r, details, links) for r in records]
    return [_group_event(data, records, details, links, title)]


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, Any]) -> list[Event]:
    """Return the events an Alertmanager notification describes."""
    return group_events(load_json_object(body), options)
