"""Ingestion throughput per format: events/s and latency at 16 concurrent clients.

For each format, two paths: dedup (every event has the same key, so it joins one open incident)
and new incident (every event has a new key). Against gunicorn on PostgreSQL, with no Celery
worker running (this measures ingestion; paging is measured by bench_page_latency). The same load
against a bare Django view doing one INSERT shows the ceiling on this machine.
"""

import json
from collections.abc import Callable

from bench import stack
from bench.load import LoadResult, load

CLIENTS = 16
SECONDS = 5.0
WEB_WORKERS = 3  # on 2 cores, one process more than cores leaves room for PostgreSQL


def _generic(key: str, n: int) -> dict:
    return {"summary": f"Disk full on db{n}", "severity": "critical", "dedup_key": key}


def _alertmanager(key: str, n: int) -> dict:
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": f"db{n}", "severity": "critical"},
        "annotations": {"summary": f"Disk full on db{n}"},
        "startsAt": "2026-11-23T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        "fingerprint": f"{n:016x}",
    }
    return {
        "version": "4",
        "groupKey": key,
        "status": "firing",
        "receiver": "oncall",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": [alert],
    }


def _grafana(key: str, n: int) -> dict:
    body = _alertmanager(key, n)
    body |= {"title": f"[FIRING:1] DiskFull db{n}", "state": "alerting", "orgId": 1}
    body["alerts"][0] |= {"dashboardURL": "http://grafana/d/abc", "values": {"A": 97.5}}
    return body


def _pagerduty(routing_key: str) -> Callable[[str, int], dict]:
    def build(key: str, n: int) -> dict:
        return {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {"summary": f"Disk full on db{n}", "source": f"db{n}", "severity": "error"},
        }

    return build


def _seed() -> dict[str, str]:
    """Create one service and an integration per format; return kind → key."""
    from paging.models import Integration, Service

    service = Service.objects.create(name="ingest bench", storm_cap=0)  # no policy: no paging
    kinds = ["generic", "alertmanager", "grafana", "pagerduty_v2"]
    return {k: Integration.objects.create(service=service, name=k, kind=k).key for k in kinds}


def _body(build: Callable[[str, int], dict], path: str) -> Callable[[int], bytes]:
    if path == "dedup":
        return lambda n: json.dumps(build("same-key", n)).encode()
    return lambda n: json.dumps(build(f"key-{n}", n)).encode()


def _figures(label: str, result: LoadResult) -> list[dict]:
    failed = sum(count for status, count in result.statuses.items() if status >= 300)
    if failed:
        raise RuntimeError(f"{label}: {failed} requests failed: {result.statuses}")
    ms = 1000
    return [
        {"name": f"{label} events/s", "value": result.rate, "unit": "events/s"},
        {"name": f"{label} p50", "value": result.percentile(50) * ms, "unit": "ms"},
        {"name": f"{label} p99", "value": result.percentile(99) * ms, "unit": "ms"},
    ]


def _baseline() -> list[dict]:
    from django.db import connection

    from bench.baseline import TABLE_SQL

    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)
    env = stack.base_env()
    with stack.running(
        env,
        web_workers=WEB_WORKERS,
        worker=False,
        app="bench.baseline:application",
        ready_path="/bench/insert/",
    ) as base:
        body = _body(_generic, "new")
        result = load(f"{base}/bench/insert/", body, clients=CLIENTS, seconds=SECONDS)
    return _figures("bare Django view, one INSERT", result)


def run() -> list[dict]:
    """Load each format's webhook on both paths, then the one-INSERT baseline."""
    stack.recreate_database()
    keys = _seed()
    formats = {
        "generic": _generic,
        "alertmanager": _alertmanager,
        "grafana": _grafana,
        "pagerduty_v2": _pagerduty(keys["pagerduty_v2"]),
    }
    figures = []
    with stack.running(stack.base_env(), web_workers=WEB_WORKERS, worker=False) as base:
        # Steady state: every web worker connected, its hot statements prepared.
        load(f"{base}/integrations/{keys['generic']}/", _body(_generic, "new"), seconds=3)
        for kind, build in formats.items():
            url = (
                f"{base}/v2/enqueue"
                if kind == "pagerduty_v2"
                else f"{base}/integrations/{keys[kind]}/"
            )
            for path in ("dedup", "new"):
                result = load(url, _body(build, path), clients=CLIENTS, seconds=SECONDS)
                label = f"{kind} {'dedup' if path == 'dedup' else 'new incident'}"
                figures += _figures(label, result)
    return figures + _baseline()
