"""Run web, Celery worker and Celery beat together in the foreground; Ctrl-C stops all three."""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_GRACE_SECONDS = 15


def _processes(bind: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        # No control socket: its one path under ~/.gunicorn would be shared by every instance.
        "web": [
            *(python, "-m", "gunicorn", "oncall.wsgi", "--bind", bind, "--workers", "2"),
            "--no-control-socket",
        ],
        "worker": [python, "-m", "celery", "-A", "oncall", "worker", "-l", "INFO", "-c", "2"],
        "beat": [
            python,
            *("-m", "celery", "-A", "oncall", "beat", "-l", "INFO"),
            *("--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME),
        ],
    }


def _stop(children: dict[str, subprocess.Popen]) -> None:
    """Ask every child to stop, then kill what is still running after the grace period."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()


class Command(BaseCommand):
    help = "Run web (gunicorn), Celery worker and Celery beat until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args, bind: str, **options) -> None:
        stopping = False

        def request_stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        children = {
            name: subprocess.Popen(cmd)  # noqa: S603 - our own fixed command lines
            for name, cmd in _processes(bind).items()
        }
        self.stdout.write(f"Started {', '.join(children)}; Ctrl-C stops them all.")
        while not stopping:
            exited = [name for name, child in children.items() if child.poll() is not None]
            if exited:
                self.stderr.write(f"{', '.join(exited)} exited; stopping the rest.")
                break
            time.sleep(0.2)
        _stop(children)
        if not stopping:
            sys.exit(1)
