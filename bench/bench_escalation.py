"""Escalation lateness: when Level 2's SMS reaches Twilio, against when Level 2 was due.

200 incidents open at 5 a second on a policy of two levels (one person each, a 5-second
acknowledgement timeout). Nobody acknowledges, so every incident pages Level 2 once its timeout
runs out. Lateness = (Level 2 SMS at the fake Twilio) - (Level 1 paged + the timeout). Two runs:
normal (two worker processes and one beat), and one where a worker is killed with SIGKILL
half-way, while it holds scheduled Level 2 tasks and waits for Twilio's answer to pages (Twilio
holds four requests unanswered just then, and never takes them): the sweeper must make up for
them. For that run it also prints the lateness of the pages the dead worker held (those of the
tasks it had scheduled, reserved or running when killed, not out by then): they must go out
within the sweep interval + 10 s. Settings are production's, but for the sweep interval and the
carrier-safe SMS limits.
"""

import ast
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

from bench import stack
from tests.waiting import wait_until

INCIDENTS = 200
RATE = 5  # incidents opened per second
TIMEOUT = dt.timedelta(seconds=5)
SWEEP_INTERVAL = 2  # seconds; production's default is 5
LEVEL_1, LEVEL_2 = "+15550100001", "+15550100002"
STALLED = 4  # Twilio requests left unanswered around the kill


def _timed_fake():
    """Return a fake Twilio that records when each message arrived (wall clock)."""
    from tests.fakes.twilio import FakeTwilio

    class TimedFake(FakeTwilio):
        def __init__(self) -> None:
            super().__init__()
            self.arrived: dict[str, float] = {}

        def _record_message(self, params):
            message = super()._record_message(params)
            self.arrived[message.sid] = time.time()
            return message

    return TimedFake()


def _seed() -> object:
    """Create two responders, a two-level policy and a service; return its integration."""
    from accounts.models import User
    from escalation.models import EscalationPolicy, Tier
    from paging.models import ContactMethod, Integration, Service

    policy = EscalationPolicy.objects.create(name="bench escalation")
    for position, phone in enumerate([LEVEL_1, LEVEL_2]):
        user = User.objects.create(username=f"level{position + 1}")
        ContactMethod.objects.create(user=user, kind="sms", address=phone, verified=True)
        tier = Tier.objects.create(policy=policy, position=position, ack_timeout=TIMEOUT)
        tier.users.add(user)
    service = Service.objects.create(name="bench escalation", escalation_policy=policy, storm_cap=0)
    return Integration.objects.create(service=service, name="bench", kind="generic")


@contextmanager
def _celery(env: dict[str, str], workers: int):
    """Run `workers` Celery worker processes and one beat; yield the workers."""
    logs = stack.ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    python = [sys.executable, "-m", "celery", "-A", "oncall"]
    subprocess.run(
        [*python, "purge", "-f"], env=env, cwd=stack.ROOT, check=True, capture_output=True
    )
    with ExitStack() as processes:
        started = []
        for n in range(workers):
            log = logs / f"escalation-worker{n}.log"
            command = [*python, "worker", "-P", "threads", "-c", "4", "-l", "INFO"]
            command += ["--without-gossip", "--without-mingle", "-n", f"bench{n}@%h"]
            started.append(processes.enter_context(_process(command, env, log)))
            stack._wait_worker_ready(log)
        beat = [*python, "beat", "-l", "WARNING", "-s", str(logs / "escalation-beat-schedule")]
        processes.enter_context(_process(beat, env, logs / "escalation-beat.log"))
        yield started


@contextmanager
def _process(command: list[str], env: dict[str, str], log):
    with open(log, "w") as out:
        child = subprocess.Popen(command, cwd=stack.ROOT, env=env, stdout=out, stderr=out)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait(timeout=30)


def _trigger(integration, n: int) -> int:
    from paging.ingest.formats import Event
    from paging.ingest.store import alert_ingest

    event = Event(action="trigger", summary=f"bench {n}", dedup_key=f"esc-{time.time()}-{n}")
    return alert_ingest(integration=integration, event=event, payload={}).pk


def _due(ids: list[int]) -> dict[tuple[int, int], float]:
    """Return when each (incident, level) page was due: Level 1 at once, Level 2 after it."""
    from paging.models import Incident, Notification

    opened = dict(Incident.objects.filter(pk__in=ids).values_list("pk", "created_at"))
    paged = Notification.objects.filter(incident_id__in=ids, tier=0)
    level_1 = dict(paged.values_list("incident_id", "due_at"))
    due = {(pk, 0): at.timestamp() for pk, at in opened.items()}
    return due | {(pk, 1): (at + TIMEOUT).timestamp() for pk, at in level_1.items()}


def _arrivals(fake) -> dict[tuple[int, int], float]:
    """Return when each (incident, level) SMS reached the fake Twilio."""
    level = {LEVEL_1: 0, LEVEL_2: 1}
    return {
        (int(m.body.split(" ", 1)[0][1:]), level[m.to]): fake.arrived[m.sid] for m in fake.messages
    }


def _held_tasks(worker: str) -> list[tuple[str, int, bool]]:
    """Return (task, its id argument, waiting for an eta) for each task `worker` holds."""
    from oncall.celery import app

    inspect = app.control.inspect(destination=[worker], timeout=2)
    held = [(entry["request"], True) for entry in (inspect.scheduled() or {}).get(worker, [])]
    running = (inspect.reserved() or {}).get(worker, []) + (inspect.active() or {}).get(worker, [])
    held += [(request, False) for request in running]
    return [(request["name"], _first(request["args"]), waits) for request, waits in held]


def _first(args: list | str) -> int:
    return (ast.literal_eval(args) if isinstance(args, str) else args)[0]


def _held_pages(
    tasks: list[tuple[str, int, bool]], arrived: dict, killed_at: float
) -> set[tuple[int, int]]:
    """Return the (incident, level) pages the dead worker held that were not out when it died.

    A step task waiting for its eta runs Level 2; one ready to run (or running), the first level
    not out yet.
    """
    from paging.models import Notification

    def out(page: tuple[int, int]) -> bool:
        return arrived.get(page, float("inf")) <= killed_at

    pages = set()
    for name, pk, waits in tasks:
        if name == "paging.deliver":
            pages.add(Notification.objects.values_list("incident_id", "tier").get(pk=pk))
        elif name == "paging.escalate" and not out((pk, 1)):
            pages.add((pk, 1) if waits or out((pk, 0)) else (pk, 0))
    return {page for page in pages if not out(page)}


def _kill_mid_send(fake, worker) -> tuple[list[tuple[str, int, bool]], float]:
    """SIGKILL `worker` while Twilio leaves requests unanswered; return what it held, and when."""
    fake.fail_next(hang=True, times=STALLED)  # never taken: a dead worker's page must be resent
    wait_until(lambda: fake.hanging >= STALLED, timeout=30, what="stalled requests")
    held = _held_tasks(f"bench0@{socket.gethostname()}")
    os.kill(worker.pid, signal.SIGKILL)
    killed_at = time.time()
    fake.release()  # the survivor's stalled requests drop: it retries them (asking Twilio first)
    return held, killed_at


def _run_once(fake, env: dict[str, str], *, kill: bool) -> tuple[list[float], list[float]]:
    """Return Level 2 lateness of every incident, and the lateness of the dead worker's pages."""
    integration = _seed_once()
    fake.reset()
    fake.arrived.clear()
    held, killed_at = [], float("inf")
    with _celery(env, workers=2) as workers:
        ids, started = [], time.monotonic()
        for n in range(INCIDENTS):
            time.sleep(max(0.0, started + n / RATE - time.monotonic()))
            ids.append(_trigger(integration, n))
            if kill and n == INCIDENTS // 2:
                held, killed_at = _kill_mid_send(fake, workers[0])
        for level in (LEVEL_1, LEVEL_2):  # a page the dead worker held may come after Level 2
            fake.wait_for_messages(INCIDENTS, to=level, timeout=180)
    due, arrived = _due(ids), _arrivals(fake)
    level_2 = [arrived[pk, 1] - due[pk, 1] for pk in ids]
    dead = _held_pages(held, arrived, killed_at)
    return level_2, [arrived[page] - due[page] for page in dead]


_seeded: list = []


def _seed_once():
    if not _seeded:
        _seeded.append(_seed())
    return _seeded[0]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _figures(label: str, lateness: list[float]) -> list[dict]:
    if not lateness:
        return [{"name": f"{label}: none", "value": 0, "unit": "pages"}]
    ms = 1000
    return [
        {"name": f"{label} p50", "value": statistics.median(lateness) * ms, "unit": "ms"},
        {"name": f"{label} p99", "value": _percentile(lateness, 99) * ms, "unit": "ms"},
        {"name": f"{label} max", "value": max(lateness) * ms, "unit": "ms"},
    ]


def run() -> list[dict]:
    """Measure Level 2 lateness over 200 incidents, normally and with a worker killed."""
    stack.recreate_database()
    _seeded.clear()
    with _timed_fake() as fake:
        env = stack.base_env(
            TWILIO_ACCOUNT_SID=fake.account_sid,
            TWILIO_AUTH_TOKEN=fake.auth_token,
            TWILIO_FROM_NUMBER="+15559990000",
            TWILIO_API_BASE_URL=fake.url,
            SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL),
            # One SMS per page: no carrier-safe spacing or bundling (see bench_page_latency).
            PAGING_SMS_MIN_INTERVAL_SECONDS="0",
            PAGING_SMS_MAX_PER_HOUR="100000",
            PAGING_SMS_BUNDLE="false",
            VAR_DIR=str(stack.ROOT / "var" / "bench"),
        )
        normal, _ = _run_once(fake, env, kill=False)
        killed, dead = _run_once(fake, env, kill=True)
    what = f"Level 2 lateness, {INCIDENTS} incidents"
    held = f"lateness of the {len(dead)} pages the SIGKILLed worker held"
    return [
        *_figures(what, normal),
        *_figures(f"{what}, a worker SIGKILLed (sweep every {SWEEP_INTERVAL} s)", killed),
        *_figures(held, dead),
    ]
