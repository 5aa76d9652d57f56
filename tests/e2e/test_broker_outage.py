"""Nothing lost with the broker down: the alert is stored and answered 202, and pages on recovery.

This test runs its own redis-server (a real one, on a free port) so that it can stop and restart
it without disturbing the Redis every other test shares.
"""

import json
import shutil
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from paging.models import Alert, Incident
from tests.conftest import require_services
from tests.e2e.conftest import ROOT, _worker_env
from tests.factories import IntegrationFactory
from tests.ops.cluster import answers, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


@contextmanager
def redis_server(port: int, workdir: Path):
    """Run redis-server on `port` until the block ends."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    command += ["no", "--dir", str(workdir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(port), timeout=10, what=f"redis-server on port {port}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path):
    with log.open("w") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=30)


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, json.loads(response.read())


def test_alert_accepted_while_redis_is_down_pages_once_it_is_back(
    transactional_db, twilio, payments, tmp_path
):
    require_services()
    integration = IntegrationFactory(service=payments, name="prometheus")
    broker_port, web_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    env = _worker_env(web_url, twilio) | {
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{broker_port}/0",
        "SWEEP_INTERVAL_SECONDS": "1",
        "VAR_DIR": str(tmp_path),
    }
    web = [sys.executable, "-m", "gunicorn", "oncall.wsgi", "-b", f"127.0.0.1:{web_port}"]
    worker = [sys.executable, "-m", "celery", "-A", "oncall", "worker", "-B", "-P", "threads"]
    worker += ["-c", "2", "--without-gossip", "--without-mingle", "-n", "outage@%h", "-l", "INFO"]

    with (
        process(web, env, tmp_path / "web.log"),
        process(worker, env, tmp_path / "worker.log"),
    ):
        wait_until(lambda: answers(web_port), timeout=30, what="gunicorn to listen")
        # Redis is down: nothing listens on the broker port.
        status, body = post(
            f"{web_url}/integrations/{integration.key}/", {"summary": "Disk full", "dedup_key": "d"}
        )
        assert status == 202
        incident = Incident.objects.get(pk=body["incidents"][0])
        assert Alert.objects.filter(incident=incident).count() == 1
        assert twilio.messages == []

        with redis_server(broker_port, tmp_path):
            (page,) = twilio.wait_for_messages(1, to="+15550100001", timeout=60)

    assert page.body.startswith(f"#{incident.pk} CRIT payments: Disk full")
    assert len(twilio.messages) == 1
