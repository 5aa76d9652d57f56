"""Escalation lateness: when Level 2's SMS reaches Twilio, against when Level 2 was due.

200 incidents open at 5 a second on a policy of two levels (one person each, a 5-second
acknowledgement timeout). Nobody acknowledges, so every incident pages Level 2 once its timeout
runs out. Lateness = (Level 2 SMS at the fake Twilio) - (Level 1 paged + the timeout). Two runs:
normal (two worker processes and one beat), and one where a worker is killed with SIGKILL
half-way, while it holds scheduled Level 2 tasks: the sweeper must make up for them, within
about its interval.
"""

import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

from bench import stack

INCIDENTS = 200
RATE = 5  # incidents opened per second
TIMEOUT = dt.timedelta(seconds=5)
SWEEP_INTERVAL = 2  # seconds; production's default is 5
LEVEL_1, LEVEL_2 = "+15550100001", "+15550100002"


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
    from paging.ingest import alert_ingest
    from paging.integrations import Event

    event = Event(action="trigger", summary=f"bench {n}", dedup_key=f"esc-{time.time()}-{n}")
    return alert_ingest(integration=integration, event=event, payload={}).pk


def _lateness(fake, ids: list[int]) -> list[float]:
    """Return each incident's Level 2 lateness in seconds."""
    from paging.models import Notification

    paged = dict(
        Notification.objects.filter(incident_id__in=ids, tier=0).values_list(
            "incident_id", "due_at"
        )
    )
    arrivals = {
        int(m.body.split(" ", 1)[0][1:]): fake.arrived[m.sid]
        for m in fake.messages
        if m.to == LEVEL_2
    }
    return [arrivals[pk] - (paged[pk] + TIMEOUT).timestamp() for pk in ids]


def _run_once(fake, env: dict[str, str], *, kill: bool) -> list[float]:
    integration = _seed_once()
    fake.reset()
    fake.arrived.clear()
    with _celery(env, workers=2) as workers:
        ids, started = [], time.monotonic()
        for n in range(INCIDENTS):
            time.sleep(max(0.0, started + n / RATE - time.monotonic()))
            ids.append(_trigger(integration, n))
            if kill and n == INCIDENTS // 2:
                os.kill(workers[0].pid, signal.SIGKILL)
        fake.wait_for_messages(INCIDENTS, to=LEVEL_2, timeout=120)
    return _lateness(fake, ids)


_seeded: list = []


def _seed_once():
    if not _seeded:
        _seeded.append(_seed())
    return _seeded[0]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _figures(label: str, lateness: list[float]) -> list[dict]:
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
            # A page whose worker died mid-send is sent again after this (production: 60 s).
            PAGING_SENDING_STALE_SECONDS="5",
            TWILIO_TIMEOUT_SECONDS="2",
            # One SMS per page: no carrier-safe spacing or bundling (see bench_page_latency).
            PAGING_SMS_MIN_INTERVAL_SECONDS="0",
            PAGING_SMS_MAX_PER_HOUR="100000",
            PAGING_SMS_BUNDLE="false",
            VAR_DIR=str(stack.ROOT / "var" / "bench"),
        )
        normal = _run_once(fake, env, kill=False)
        killed = _run_once(fake, env, kill=True)
    what = f"Level 2 lateness, {INCIDENTS} incidents"
    return [
        *_figures(what, normal),
        *_figures(f"{what}, a worker SIGKILLed (sweep every {SWEEP_INTERVAL} s)", killed),
    ]
