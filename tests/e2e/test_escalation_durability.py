"""Escalation under real concurrency and failure: several Celery worker and beat processes.

Three workers and two sweepers (two beats, a misconfiguration the engine must survive) race on
the same incidents; a worker killed with SIGKILL in the middle of a send loses no page and sends
none twice. Tiers are a second or two long so each test takes seconds.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from celery import Celery
from django.utils import timezone

from paging.models import Incident, Notification
from tests.conftest import require_services
from tests.e2e.conftest import ROOT, _worker_env
from tests.e2e.test_broker_outage import free_port, redis_server
from tests.factories import ContactMethodFactory, IntegrationFactory, PolicyFactory, UserFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

TIER = dt.timedelta(seconds=1)  # how long each level has to acknowledge
HELD = 3.0  # seconds the fake Twilio holds a request it took, below the client's timeout


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path):
    with log.open("w") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait(timeout=30)


def _ready(log: Path) -> bool:
    return "ready." in log.read_text()


@contextmanager
def cluster(twilio, tmp_path: Path, *, workers: int, beats: int):
    """Run `workers` Celery workers and `beats` beat processes (sweep every second).

    They talk through a Redis of their own, so that no other test's worker takes their tasks;
    yield the workers and a Celery app that sends tasks to them.
    """
    require_services()
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    env = _worker_env("http://127.0.0.1:9", twilio) | {
        "CELERY_BROKER_URL": broker,
        "SWEEP_INTERVAL_SECONDS": "1",
        # A send cut off by SIGKILL is retried once its claim is this + 3 s old.
        "TWILIO_TIMEOUT_SECONDS": "5",
        "LOG_LEVEL": "INFO",
        # One SMS per page, so pages can be counted: no carrier-safe spacing or bundling.
        "PAGING_SMS_MIN_INTERVAL_SECONDS": "0",
        "PAGING_SMS_MAX_PER_HOUR": "100000",
        "PAGING_SMS_BUNDLE": "false",
    }
    python = [sys.executable, "-m", "celery", "-A", "oncall"]
    with ExitStack() as stack:
        stack.enter_context(redis_server(port, tmp_path))
        sender = Celery("durability-test", broker=broker, set_as_current=False)
        stack.callback(sender.close)
        started = []
        for n in range(workers):
            log = tmp_path / f"worker{n}.log"
            command = [*python, "worker", "-P", "threads", "-c", "2", "-l", "INFO"]
            command += ["--without-gossip", "--without-mingle", "-n", f"durability{n}@%h"]
            started.append((stack.enter_context(_process(command, env, log)), log))
        for n in range(beats):
            beat_dir = tmp_path / f"beat{n}"
            beat_dir.mkdir()
            command = [*python, "beat", "-l", "INFO", "-s", str(beat_dir / "schedule")]
            stack.enter_context(
                _process(command, env | {"VAR_DIR": str(beat_dir)}, beat_dir / "log")
            )
        for child, log in started:
            wait_until(
                lambda c=child, lg=log: c.poll() is not None or _ready(lg),
                timeout=90,
                what=f"a worker to start ({log.name})",
            )
            assert child.poll() is None, log.read_text()[-4000:]
        yield [child for child, _ in started], sender


def people(n: int) -> list:
    """Return `n` responders, each with an SMS number of their own."""
    result = []
    for i in range(n):
        user = UserFactory(username=f"responder{i}", first_name=f"Responder{i}")
        ContactMethodFactory(user=user, address=f"+1555030{i:04d}")
        result.append(user)
    return result


def open_incident(integration, n: int) -> Incident:
    """Store a new incident due to page Level 1, as the webhook does (its task: the caller's)."""
    return Incident.objects.create(
        service=integration.service,
        dedup_key=f"k{n}",
        summary=f"alert {n}",
        escalation_due_at=timezone.now(),
    )


def pages(twilio) -> Counter:
    """Count the SMS each (incident number, phone) pair received."""
    return Counter((m.body.split(" ", 1)[0], m.to) for m in twilio.messages)


def expected(incidents: list[int], phones: list[str]) -> set:
    return {(f"#{pk}", phone) for pk in incidents for phone in phones}


def test_three_workers_and_two_sweepers_page_every_due_person_exactly_once(
    transactional_db, twilio, tmp_path
):
    responders = people(3)
    policy = PolicyFactory(levels=[[p] for p in responders], levels__timeout=TIER)
    integration = IntegrationFactory(service__escalation_policy=policy, service__storm_cap=0)
    phones = [p.contact_methods.get().address for p in responders]

    with cluster(twilio, tmp_path, workers=3, beats=2) as (_, sender):
        ids = []
        for n in range(50):
            incident = open_incident(integration, n)
            if n % 2:  # its task, as the webhook sends after commit
                sender.send_task("paging.escalate", args=[incident.pk])
            # else: an incident whose task was lost: only the sweepers can find it
            ids.append(incident.pk)
        twilio.wait_for_messages(150, timeout=90)
        wait_until(
            lambda: not Incident.objects.filter(escalation_due_at__isnull=False).exists(),
            timeout=30,
            what="every escalation to run out",
        )

    assert set(pages(twilio)) == expected(ids, phones)
    assert set(pages(twilio).values()) == {1}
    assert len(twilio.messages) == 150
    assert Counter(Notification.objects.values_list("status", flat=True)) == {"sent": 150}
    for incident in Incident.objects.filter(pk__in=ids):
        steps = [e.message for e in incident.timeline.all() if e.kind == "escalated"]
        assert len(steps) == 3, steps


def test_worker_killed_mid_escalation_pages_everyone_exactly_once(
    transactional_db, twilio, tmp_path
):
    responders = people(2)
    policy = PolicyFactory(levels=[[p] for p in responders], levels__timeout=2 * TIER)
    integration = IntegrationFactory(service__escalation_policy=policy, service__storm_cap=0)
    phones = [p.contact_methods.get().address for p in responders]

    with cluster(twilio, tmp_path, workers=2, beats=1) as ((victim, _survivor), sender):
        ids = []
        for n in range(20):
            incident = open_incident(integration, n)
            sender.send_task("paging.escalate", args=[incident.pk])
            ids.append(incident.pk)
        twilio.wait_for_messages(len(ids), to=phones[0], timeout=60)
        # Level 2 is now due within seconds: its eta tasks sit in both workers' memory. Twilio
        # takes each of its SMS but holds the answer, then hangs up without one (the worker
        # retries). Each worker sends two at a time: with three held, the victim dies in the
        # middle of a send that Twilio took.
        twilio.fail_next(hang=HELD, accept=True, times=len(ids))
        wait_until(lambda: twilio.hanging >= 3, timeout=60, what="both workers in mid-send")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        twilio.wait_for_messages(len(ids), to=phones[1], timeout=60)
        wait_until(
            lambda: not Notification.objects.exclude(status="sent").exists(),
            timeout=30,
            what="every notification to be sent",
        )

    assert victim.returncode == -signal.SIGKILL
    got = pages(twilio)
    assert set(got) == expected(ids, phones)  # nobody due was left out
    # Nobody paged twice, not even for a send cut off between Twilio's answer and our record:
    # the revived notification asks Twilio first.
    assert set(got.values()) == {1}, {key: n for key, n in got.items() if n > 1}
    assert len(twilio.messages) == 2 * len(ids)
