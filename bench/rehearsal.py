"""A multi-node rehearsal on one machine: two web processes, three worker pools and beat on one
PostgreSQL database and one private Redis, a mixed load of alerts through both web processes,
one worker killed and Redis restarted mid-run. Prints what was accepted, paged and lost.

    make rehearsal            # DATABASE_URL names the PostgreSQL server (its database + _rehearsal)

Pages go to the fake Twilio (tests/fakes) on loopback; Redis is a redis-server started here on
a free port, never the machine's shared one.
"""

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ops.cluster import Cluster, free_port, service_env  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

PEOPLE_PER_SERVICE = 2
PAGE = re.compile(r"^#(\d+) ")


def rehearsal_database_url() -> str:
    """Return the URL of the rehearsal's own database, next to DATABASE_URL's."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    name = (parts.path.lstrip("/") or "oncall") + "_rehearsal"
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="oncall.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL="memory://",
        SECRET_KEY="rehearsal-" + "x" * 40,
        DEBUG="false",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)


def create_services(count: int) -> list[dict[str, str]]:
    """Create services paging two people each at Level 1; return their integration keys."""
    import datetime as dt

    from tests.factories import (
        ContactMethodFactory,
        IntegrationFactory,
        PolicyFactory,
        ServiceFactory,
        UserFactory,
    )

    services = []
    for n in range(count):
        people = []
        for p in range(PEOPLE_PER_SERVICE):
            person = UserFactory(username=f"s{n}p{p}")
            ContactMethodFactory(user=person, address=f"+1555{n:03d}{p:04d}")
            people.append(person)
        # A long Level 1 timeout: the run pages each incident's Level 1, and only that.
        policy = PolicyFactory(levels=[people], levels__timeout=dt.timedelta(hours=1))
        service = ServiceFactory(name=f"svc{n}", escalation_policy=policy, storm_cap=0)
        services.append(
            {
                kind: IntegrationFactory(service=service, kind=kind, name=kind).key
                for kind in ("generic", "alertmanager", "pagerduty_v2")
            }
        )
    return services


def alertmanager_body(key: str) -> dict:
    alert = {
        "status": "firing",
        "labels": {"alertname": key, "severity": "critical"},
        "annotations": {"summary": f"{key} firing"},
        "startsAt": "2026-12-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": key,
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{key}"}}',
        "status": "firing",
        "receiver": "oncall",
        "groupLabels": {"alertname": key},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    }


def requests_for(services: list[dict[str, str]], alerts: int) -> list[tuple[str, dict]]:
    """Return (path, body) pairs: each new alert once, a third of them sent a second time."""
    plan = []
    for i in range(alerts):
        keys = services[i % len(services)]
        kind = ("generic", "alertmanager", "pagerduty_v2")[i % 3]
        dedup = f"r{i}"
        if kind == "generic":
            item = (f"/integrations/{keys[kind]}/", {"summary": f"alert {i}", "dedup_key": dedup})
        elif kind == "alertmanager":
            item = (f"/integrations/{keys[kind]}/", alertmanager_body(dedup))
        else:
            body = {"routing_key": keys[kind], "event_action": "trigger", "dedup_key": dedup}
            body["payload"] = {"summary": f"alert {i}", "source": "rehearsal", "severity": "error"}
            item = ("/v2/enqueue", body)
        plan.append(item)
        if i % 3 == 1:
            plan.append(item)  # a repeat: joins the same incident, pages nobody new
    return plan


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def send_load(webs: list[str], plan: list[tuple[str, dict]], clients: int, pace: float) -> Counter:
    """Send the plan through the web processes in turn, `clients` at a time, paced."""
    statuses: Counter = Counter()
    lock = threading.Lock()

    def one(index: int) -> None:
        path, body = plan[index]
        status = post(webs[index % len(webs)] + path, body)
        with lock:
            statuses[status] += 1
        time.sleep(pace)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(len(plan))))
    return statuses


POOLS = {"core": "ingest,escalation,celery", "phone": "deliver.sms,deliver.voice,deliver.push"}


def replace_worker(cluster: Cluster, pool: str, sig: int, log: list[str]) -> None:
    """Stop the pool's running worker with `sig` and start a replacement."""
    running = next(name for name in reversed(cluster.processes) if name.startswith(pool))
    cluster.stop(running, sig=sig)
    log.append(f"{signal.Signals(sig).name} to the {pool} worker")
    replacement = f"{pool}-{len(log)}"
    cluster.worker(replacement, queues=POOLS[pool], concurrency=4, pool="threads")
    log.append(f"replacement {pool} worker ready")


def disrupt(cluster: Cluster, kill: str, log: list[str]) -> None:
    """Crash one worker (SIGKILL), restart the phone pool gracefully (SIGTERM), restart Redis."""
    time.sleep(6)
    replace_worker(cluster, kill, signal.SIGKILL, log)
    if kill != "phone":
        time.sleep(3)
        replace_worker(cluster, "phone", signal.SIGTERM, log)
    time.sleep(3)
    cluster.stop("redis")
    log.append("stopped Redis")
    time.sleep(3)
    cluster.redis()
    log.append("restarted Redis")


def _spread(values: list[float]) -> str:
    """p50, p99 and max of sorted `values`, as one line."""
    if not values:
        return "none"
    pick = [values[int(q * (len(values) - 1))] for q in (0.5, 0.99)] + [values[-1]]
    return "p50 {:.2f}, p99 {:.2f}, max {:.2f}".format(*pick)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=240, help="distinct alerts to send")
    parser.add_argument("--services", type=int, default=6)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pace", type=float, default=0.1, help="seconds each client pauses")
    parser.add_argument("--settle", type=float, default=240, help="seconds to wait for pages")
    parser.add_argument(
        "--kill",
        choices=sorted(POOLS),
        default="core",
        help="the pool whose worker is SIGKILLed; 'phone' can crash mid-send, and the page it "
        "was sending is sent again when the sweeper revives it (at least once, never lost)",
    )
    parser.add_argument(
        "--calm", action="store_true", help="no disruptions: the same load, for comparison"
    )
    args = parser.parse_args()

    database_url = rehearsal_database_url()
    recreate_database(database_url)
    setup_django(database_url)
    services = create_services(args.services)

    from paging.models import Incident
    from tests.fakes.twilio import FakeTwilio

    workdir = Path(tempfile.mkdtemp(prefix="oncall-rehearsal-"))
    events: list[str] = []
    with FakeTwilio() as twilio:
        port = free_port()
        # One SMS per page, however many a number gets: the count below is per page. Carrier
        # pacing and bundling have their own tests; here they would only blur the count.
        pacing = {
            "PAGING_SMS_BUNDLE": "false",
            "PAGING_SMS_MIN_INTERVAL_SECONDS": "0",
            "PAGING_SMS_MAX_PER_HOUR": "100000",
        }
        public = f"http://127.0.0.1:{port}"
        env = service_env(database_url, public, twilio.url, LOG_LEVEL="WARNING", **pacing)
        with Cluster(workdir, env) as cluster:
            cluster.redis()
            webs = [cluster.web("web-1", port=port), cluster.web("web-2")]
            threads = {"pool": "threads", "concurrency": 4}
            cluster.worker("core", queues="ingest,escalation,celery", **threads)
            cluster.worker("phone", queues="deliver.sms,deliver.voice,deliver.push", **threads)
            cluster.worker(
                "email", queues="deliver.email,background", concurrency=1, pool="threads"
            )
            cluster.beat()
            print(f"stack up: 2 web, 3 workers, beat; logs in {workdir}", flush=True)

            # Like systemd, Kubernetes and compose, restart a process that exits on its own (a
            # kombu race can crash a worker when Redis goes away); the summary lists each one.
            restarts: list[str] = []
            done = threading.Event()

            def supervise() -> None:
                while not done.wait(0.5):
                    restarts.extend(cluster.restart_exited())

            supervisor = threading.Thread(target=supervise, daemon=True)
            supervisor.start()
            plan = requests_for(services, args.alerts)
            chaos = threading.Thread(
                target=(lambda *a: None) if args.calm else disrupt,
                args=(cluster, args.kill, events),
            )
            started = time.monotonic()
            chaos.start()
            statuses = send_load(webs, plan, args.clients, args.pace)
            load_seconds = time.monotonic() - started
            chaos.join()

            incidents = list(Incident.objects.values_list("pk", flat=True))
            expected = len(incidents) * PEOPLE_PER_SERVICE
            try:
                wait_until(
                    lambda: len(twilio.messages) >= expected,
                    timeout=args.settle,
                    what=f"{expected} pages",
                )
            except AssertionError as exc:
                print(exc)
            settle_seconds = time.monotonic() - started - load_seconds
            # deploy/'s liveness probe, after the Redis restart: every worker must be consuming
            # and beat ticking again (a wedged one would stop sweeps or pages, and be restarted).
            nodes = [n for n in cluster.processes if not n.startswith(("web", "redis"))]
            silent = [n for n in nodes if not cluster.answers_ping(n)]
            done.set()
            supervisor.join()

    messages = [m for m in twilio.messages if PAGE.match(m.body)]
    opened = dict(Incident.objects.values_list("pk", "created_at"))
    paged_at = [(int(PAGE.match(m.body).group(1)), m.created) for m in messages]
    waits = sorted((at - opened[pk]).total_seconds() for pk, at in paged_at if pk in opened)
    others = [m.body for m in twilio.messages if not PAGE.match(m.body)]
    delivered = Counter((m.to, PAGE.match(m.body).group(1)) for m in messages)
    paged = Counter(incident for _, incident in delivered)
    lost = sum(max(PEOPLE_PER_SERVICE - paged[str(pk)], 0) for pk in incidents)
    duplicates = sum(count - 1 for count in delivered.values())
    summary = {
        "requests sent": len(plan),
        "alerts accepted (202)": statuses[202],
        "other answers": {str(k): v for k, v in statuses.items() if k != 202},
        "incidents": len(incidents),
        "pages expected": expected,
        "pages delivered": len(messages),
        "other SMS": others[:3] + ([f"... {len(others) - 3} more"] if len(others) > 3 else []),
        "incident → page (s)": _spread(waits),
        "duplicates": duplicates,
        "lost": lost,
        "load seconds": round(load_seconds, 1),
        "settle seconds": round(settle_seconds, 1),
        "disruptions": events,
        "crashes restarted": restarts or "none",
        "liveness probes": f"{len(nodes) - len(silent)}/{len(nodes)} answered"
        + (f"; silent: {', '.join(silent)}" if silent else ""),
    }
    for name, value in summary.items():
        print(f"{name:>22}: {value}")
    ok = duplicates == 0 and lost == 0 and not others and statuses[202] == len(plan) and not silent
    print("REHEARSAL " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
