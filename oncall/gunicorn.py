"""Gunicorn settings for production: `gunicorn -c python:oncall.gunicorn oncall.wsgi`.

Workers come from WEB_CONCURRENCY (gunicorn reads it), the address from GUNICORN_BIND.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # inside a container: every interface
# Long enough for a slow database at peak; a stuck worker is restarted after it.
timeout = 30
# SIGTERM: stop accepting, finish requests in flight (a 202 is answered only after commit).
graceful_timeout = 25
keepalive = 5
# Behind a TLS proxy: trust its X-Forwarded-* headers (the proxy must strip clients' own).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# The app logs one access line per request itself, with the secrets in URLs redacted.
accesslog = None
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the shared metrics files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
