"""The PostgreSQL fast path for triggers: join or open an incident in one statement each.

The ORM path in `ingest.py` takes about ten round trips per alert (and the open incident's row
lock is held across them), which caps a busy webhook at a few hundred alerts a second. Here a
trigger is a single data-modifying CTE: lock (or insert) the incident, upsert its alerts, bump the
count and write the timeline, committed as one statement. The semantics are the ORM path's; the
tests run every webhook scenario through both (`INGEST_FAST_PATH`).
"""

import datetime as dt
import json

from django.db import connection

from paging.ingest.formats import AlertRecord, Event
from paging.models import ADDED_QUIET, Integration

# The alert rows a statement writes, passed as one JSON array.
_ROWS = """
    SELECT * FROM jsonb_to_recordset(%(alerts)s::jsonb) AS r(
        fingerprint text, status text, summary text, severity text,
        starts_at timestamptz, ends_at timestamptz, payload jsonb)
"""
_ALERT_COLUMNS = """
    INSERT INTO paging_alert (incident_id, integration_id, received_at, updated_at, action,
        dedup_key, fingerprint, status, summary, severity, starts_at, ends_at, payload)
    SELECT inc.id, %(integration)s, %(now)s, %(now)s, 'trigger', %(key)s, rows.fingerprint,
        rows.status, rows.summary, rows.severity, rows.starts_at, rows.ends_at, rows.payload
    FROM inc, rows
"""

JOIN_SQL = f"""
WITH inc AS (
    SELECT id FROM paging_incident
    WHERE service_id = %(service)s AND dedup_key = %(key)s
        AND status IN ('triggered', 'acknowledged')
    FOR UPDATE
), rows AS ({_ROWS}
), ups AS ({_ALERT_COLUMNS}
    ON CONFLICT (incident_id, fingerprint) WHERE NOT fingerprint = '' DO UPDATE SET
        updated_at = EXCLUDED.updated_at, status = EXCLUDED.status, summary = EXCLUDED.summary,
        severity = EXCLUDED.severity, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
        payload = EXCLUDED.payload
    RETURNING (xmax = 0) AS inserted
), added AS (
    SELECT count(*) FILTER (WHERE inserted) AS n FROM ups
), bump AS (
    UPDATE paging_incident SET alert_count = alert_count + added.n, last_alert_at = %(now)s
    FROM added, inc WHERE paging_incident.id = inc.id
), note AS (
    INSERT INTO paging_timelineentry (incident_id, at, kind, message)
    SELECT inc.id, %(now)s, 'alert_added',
        CASE WHEN added.n > 1 THEN added.n || ' alerts added' ELSE 'Alert added' END
        || %(message)s
    FROM inc, added WHERE added.n > 0 AND NOT EXISTS (
        SELECT 1 FROM paging_timelineentry t
        WHERE t.incident_id = inc.id AND t.kind = 'alert_added' AND t.at > %(quiet_since)s)
)
SELECT inc.id, added.n FROM inc, added
"""  # noqa: S608 - composed of the constant fragments above only

OPEN_SQL = f"""
WITH inc AS (
    INSERT INTO paging_incident (service_id, dedup_key, summary, severity, urgency, details,
        links, status, created_at, last_alert_at, alert_count, escalation_loop,
        escalation_due_at, acknowledged_via, resolved_via)
    VALUES (%(service)s, %(key)s, %(summary)s, %(severity)s, %(urgency)s, %(details)s::jsonb,
        %(links)s::jsonb, 'triggered', %(now)s, %(now)s, %(count)s, 0, %(due)s, '', '')
    ON CONFLICT (service_id, dedup_key) WHERE status IN ('triggered', 'acknowledged')
        DO NOTHING
    RETURNING id
), rows AS ({_ROWS}
), alerts AS ({_ALERT_COLUMNS}
), notes AS (
    INSERT INTO paging_timelineentry (incident_id, at, kind, message)
    SELECT inc.id, %(now)s, n.note ->> 'kind', n.note ->> 'message'
    FROM inc, jsonb_array_elements(%(notes)s::jsonb) WITH ORDINALITY AS n(note, i)
    ORDER BY n.i
)
SELECT id FROM inc
"""  # noqa: S608 - composed of the constant fragments above only


def _row(record: AlertRecord, payload: object) -> dict:
    return {
        "fingerprint": record.fingerprint,
        "status": record.status,
        "summary": record.summary[:1024],
        "severity": record.severity,
        "starts_at": record.starts_at.isoformat() if record.starts_at else None,
        "ends_at": record.ends_at.isoformat() if record.ends_at else None,
        "payload": payload,
    }


def alert_rows(event: Event, payload: object, record_payload) -> list[dict]:
    """Return the alert rows an event writes: its alerts, or the event itself as one alert."""
    if event.alerts:
        return [_row(r, record_payload(r)) for r in event.alerts]
    single = AlertRecord(
        fingerprint="", status="firing", summary=event.summary, severity=event.severity
    )
    return [_row(single, payload)]


def _first_row(sql: str, params: dict) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def join(
    *, integration: Integration, key: str, rows: list[dict], message: str, now: dt.datetime
) -> tuple[int, int] | None:
    """Add the alerts to the open incident for `key`; return (its id, alerts added) or None.

    `message` ends the "Alert added" timeline entry (" by <integration>: <summary>").
    """
    params = {
        "service": integration.service_id,
        "integration": integration.pk,
        "key": key,
        "alerts": json.dumps(rows),
        "message": message,
        "now": now,
        "quiet_since": now - ADDED_QUIET,
    }
    found = _first_row(JOIN_SQL, params)
    return (found[0], found[1]) if found else None


def open_incident(
    *,
    integration: Integration,
    key: str,
    event: Event,
    urgency: str,
    rows: list[dict],
    notes: list[dict[str, str]],
    now: dt.datetime,
    due: dt.datetime | None,
) -> int | None:
    """Open an incident with its alerts and timeline; None if one is already open for `key`."""
    params = {
        "service": integration.service_id,
        "integration": integration.pk,
        "key": key,
        "summary": event.summary[:1024],
        "severity": event.severity,
        "urgency": urgency,
        "details": json.dumps(event.details),
        "links": json.dumps(list(event.links)),
        "count": len(rows),
        "alerts": json.dumps(rows),
        "notes": json.dumps(notes),
        "now": now,
        "due": due,
    }
    found = _first_row(OPEN_SQL, params)
    return found[0] if found else None
