"""A real Celery worker process on Redis and PostgreSQL, sharing the test database."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import current_app
from django.conf import settings

from tests.conftest import TWILIO_FROM, require_services
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
_worker_log: list[Path] = []
_worker: list[subprocess.Popen] = []


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=30)


def pytest_runtest_teardown(item, nextitem):
    """Stop the worker as soon as the run leaves the end-to-end tests.

    Tests elsewhere publish tasks to the same broker and run them themselves; a worker still
    consuming would take their work first (seen as "skipped" deliveries when this directory ran
    before tests/paging/notify).
    """
    if _worker and (nextitem is None or not nextitem.path.is_relative_to(HERE)):
        _stop(_worker.pop())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the worker's log to a failed end-to-end test, so a red CI says why."""
    report = yield
    if report.failed and _worker_log and _worker_log[0].exists():
        report.sections.append(("celery worker log", _worker_log[0].read_text()[-8000:]))
    return report


def _database_url() -> str:
    db = settings.DATABASES["default"]  # pytest-django has pointed it at the test database
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker_env(public_url: str, fake) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": os.environ["REDIS_URL"],
        "PUBLIC_URL": public_url,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE_URL": fake.url,
        # Web and worker share the key, as in production: call URLs the worker signs are
        # checked by the web process.
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        # The worker imports calendars from the local feed server, which is on loopback.
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    }


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, live_server, fake_twilio, tmp_path_factory):
    """Start `celery worker` as its own process; yield it; stop it when the run leaves here."""
    require_services()
    current_app.control.purge()  # messages other tests left for ids that no longer exist
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    _worker_log[:] = [log_path]
    command = [sys.executable, "-m", "celery", "-A", "oncall", "worker", "-P", "threads", "-c", "4"]
    command += ["-l", "INFO", "--without-gossip", "--without-mingle", "-n", "e2e@%h"]
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=_worker_env(live_server.url, fake_twilio), stdout=log, stderr=log
        )
    try:
        wait_until(
            lambda: worker.poll() is not None or current_app.control.ping(timeout=0.5),
            timeout=60,
            what="the Celery worker to answer a ping",
        )
        assert worker.poll() is None, log_path.read_text()
        _worker[:] = [worker]
        yield worker
    finally:
        if _worker:
            _stop(_worker.pop())


@pytest.fixture
def e2e(celery_worker_process, live_server, twilio, settings, transactional_db):
    """Web (live server) and worker (process) both talking to the fake Twilio."""
    assert celery_worker_process.poll() is None, (
        "the worker stopped when the run left tests/e2e: keep the end-to-end tests together"
    )
    settings.PUBLIC_URL = live_server.url
    return live_server
