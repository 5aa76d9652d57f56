"""A real stack for benchmarks: a fresh PostgreSQL database, Redis, gunicorn and Celery workers.

Benchmarks measure what production runs: separate web and worker processes talking through the
broker and the database. Only Twilio is the fake from `tests/fakes`, on loopback.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
BENCH_DB = os.environ.get("BENCH_DB", "oncall_bench")


def bench_database_url() -> str:
    """Return the URL of the benchmark's own database on the same server."""
    parts = urlsplit(ADMIN_DATABASE_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, ""))


def recreate_database() -> None:
    """Drop and create the benchmark database, then migrate it."""
    from django.db import connections

    connections.close_all()  # a previous benchmark's connection would be cut by the DROP
    admin = ADMIN_DATABASE_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    manage("migrate", "--noinput", "-v0")


def base_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": bench_database_url(),
        "REDIS_URL": BENCH_REDIS_URL,
        "CELERY_BROKER_URL": BENCH_REDIS_URL,
        "SECRET_KEY": "bench-secret-key",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=base_env(), check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def _wait_worker_ready(log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "ready." in log.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker not ready within {timeout}s:\n{log.read_text()[-2000:]}")


@contextmanager
def running(
    env: dict[str, str],
    *,
    web_workers: int = 2,
    worker_concurrency: int = 4,
    worker: bool = True,
    app: str = "oncall.wsgi",
    ready_path: str = "/admin/login/",
):
    """Start gunicorn (serving `app`) and, unless told not to, a Celery worker; yield the URL."""
    port = free_port()
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    worker_log = logs / "worker.log"
    python = sys.executable
    web_cmd = [python, "-m", "gunicorn", app, "-b", f"127.0.0.1:{port}", "-w", str(web_workers)]
    web_cmd += ["--backlog", "2048"]
    worker_cmd = [python, "-m", "celery", "-A", "oncall", "worker", "-P", "threads"]
    worker_cmd += ["-c", str(worker_concurrency), "-l", "INFO", "--without-gossip"]
    worker_cmd += ["--without-mingle"]
    subprocess.run(
        [python, "-m", "celery", "-A", "oncall", "purge", "-f"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    processes = []
    with open(logs / "web.log", "w") as web_out:
        processes.append(
            subprocess.Popen(web_cmd, cwd=ROOT, env=env, stdout=web_out, stderr=web_out)
        )
    if worker:
        with open(worker_log, "w") as worker_out:
            processes.append(
                subprocess.Popen(
                    worker_cmd, cwd=ROOT, env=env, stdout=worker_out, stderr=worker_out
                )
            )
    try:
        _wait_http(f"http://127.0.0.1:{port}{ready_path}")
        if worker:
            _wait_worker_ready(worker_log)
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
