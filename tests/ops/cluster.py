"""Real service processes on this machine: a private redis-server, gunicorn, Celery workers, beat.

Used by the operations tests and by the multi-node rehearsal (`make rehearsal`). Every process
gets the same environment, its own log file under `workdir`, and is stopped at the end.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Cluster:
    """Start and stop named service processes sharing one environment."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = dict(env)
        self.processes: dict[str, subprocess.Popen] = {}
        self.recipes: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.lock = threading.RLock()  # stop() and restart_exited() may run on two threads
        self.redis_port = 0
        self.metrics_dir = workdir / "metrics"
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)

    # --- processes ------------------------------------------------------------------------------

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, command: list[str], **extra_env: str) -> subprocess.Popen:
        with self.lock, self.log(name).open("a") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env | extra_env, stdout=out, stderr=out
            )
            self.processes[name] = process
            self.recipes[name] = (command, extra_env)
        return process

    def stop(self, name: str, *, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the process and wait for it; return its exit code."""
        with self.lock:
            process = self.processes.pop(name)
            if process.poll() is None:
                process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=10)

    def restart_exited(self) -> list[str]:
        """Start again each process that exited without being stopped, as systemd, Kubernetes
        and compose restart a crashed one (Redis aside: its stops are the test's own doing)."""
        events = []
        with self.lock:
            for name, process in list(self.processes.items()):
                code = process.poll()
                if code is None or name.startswith("redis"):
                    continue
                command, extra_env = self.recipes[name]
                self.start(name, command, **extra_env)
                events.append(f"{name} exited with {code}; started again")
        return events

    def close(self) -> None:
        names = sorted(self.processes, key=lambda n: n.startswith("redis"))  # the broker last
        for name in names:
            self.stop(name, timeout=30)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- roles --------------------------------------------------------------------------------

    def redis(self, name: str = "redis") -> str:
        """Start a private redis-server (same port on a restart); return its URL."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.redis_port = self.redis_port or free_port()
        command = [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.start(name, command)
        wait_until(lambda: answers(self.redis_port), timeout=10, what="redis-server")
        url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.env |= {"REDIS_URL": url, "CELERY_BROKER_URL": url}
        return url

    def web(self, name: str, *, port: int = 0, workers: int = 2) -> str:
        """Start gunicorn with the production config; return its URL once it is ready."""
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "gunicorn", "-c", "python:oncall.gunicorn", "oncall.wsgi"]
        self.start(name, command, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers))
        wait_until(lambda: self._ready(url, name), timeout=60, what=f"{name} to be ready")
        return url

    def _ready(self, url: str, name: str) -> bool:
        if self.processes[name].poll() is not None:
            raise AssertionError(f"{name} exited:\n{self.log(name).read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def worker(
        self,
        name: str,
        *,
        queues: str = "",
        concurrency: int = 2,
        pool: str = "prefork",
        **extra_env: str,
    ) -> subprocess.Popen:
        """Start a Celery worker (every queue unless `queues`); return once it is ready."""
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oncall",
            "--quiet",
            "worker",
            "-n",
            f"{name}@%h",
        ]
        command += ["-P", pool, "-c", str(concurrency), "-l", "INFO", "--without-gossip"]
        command += ["--without-mingle", *(["-Q", queues] if queues else [])]
        log = self.log(name)
        start = log.stat().st_size if log.exists() else 0
        process = self.start(name, command, **extra_env)
        wait_until(
            lambda: process.poll() is not None or "ready." in log.read_text()[start:],
            timeout=60,
            what=f"{name} to be ready",
        )
        if process.poll() is not None:
            raise AssertionError(f"{name} exited:\n{log.read_text()[-3000:]}")
        return process

    def beat(self, name: str = "beat") -> subprocess.Popen:
        """Start beat, answering liveness pings as `<name>@<host>` as deploy/ runs it."""
        schedule = self.workdir / "celerybeat-schedule"
        command = [sys.executable, "-m", "celery", "-A", "oncall", "--quiet", "beat", "-l", "INFO"]
        return self.start(name, [*command, "-n", f"{name}@%h", "--schedule", str(schedule)])

    def answers_ping(self, name: str, timeout: float = 10) -> bool:
        """Run deploy/'s liveness probe for the node `name` started here: does it answer?"""
        command = [sys.executable, "-m", "celery", "-A", "oncall", "inspect", "ping"]
        command += ["-d", f"{name}@{socket.gethostname()}", "--timeout", str(timeout)]
        result = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout + 60
        )
        return result.returncode == 0


def service_env(database_url: str, public_url: str, twilio_url: str, **extra: str) -> dict:
    """Return the production-like environment every process of a cluster shares."""
    from tests.conftest import TWILIO_FROM
    from tests.fakes.twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_URL": public_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": "cluster-test-secret-key-" + "x" * 30,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE_URL": twilio_url,
        "SWEEP_INTERVAL_SECONDS": "1",
        **extra,
    }
