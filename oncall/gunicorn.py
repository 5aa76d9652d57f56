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
# No control socket: several instances on one host would fight over its path.
control_socket_disable = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the shared metrics files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _logconfig() -> dict:
    """Gunicorn's own lines (start, worker exits) in the same format as the app's."""
    json_format = os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json"
    formatter = (
        {"()": "oncall.logs.JsonFormatter"}
        if json_format
        else {
            "()": "oncall.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"oncall": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "oncall",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }


logconfig_dict = _logconfig()
