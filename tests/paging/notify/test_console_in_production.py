"""Pages printed on the console: refused in production unless a setting says so, and shown as such.

With DEBUG off and no Twilio or no EMAIL_HOST, pages used to be printed to stdout (links and
codes included) and marked "sent" while `check --deploy` said nothing.
"""

import os
import subprocess
import sys

from paging.models import Notification
from tests.ops.cluster import free_port
from tests.ops.test_production_settings import ROOT, example_environment, run_manage
from tests.paging.notify.conftest import page
from tests.paging.test_escalation_engine import timeline

_PRINTING = {
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_FROM_NUMBER": "",
    "EMAIL_HOST": "",
}


def _production(tmp_path, **overrides: str) -> dict[str, str]:
    """Return .env.example's production settings on SQLite and the embedded broker."""
    env = example_environment() | {"VAR_DIR": str(tmp_path), "LOG_LEVEL": "ERROR"}
    env |= {"DATABASE_URL": "", "REDIS_URL": "", "CELERY_BROKER_URL": ""}
    return env | overrides


def _start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Start a service process; return it once it exits (it must: a running one fails here)."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "VIRTUAL_ENV"}}
    env = keep | env
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_check_deploy_refuses_console_pages_in_production_and_names_what_is_missing(tmp_path):
    result = run_manage(_production(tmp_path, **_PRINTING), "check", "--deploy")

    assert result.returncode != 0
    assert "(paging.E002)" in result.stderr
    assert "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER" in result.stderr
    assert "EMAIL_HOST" in result.stderr
    assert "PAGING_CONSOLE_CHANNELS=true" in result.stderr


def test_check_names_only_email_when_twilio_is_configured(tmp_path):
    result = run_manage(_production(tmp_path, EMAIL_HOST=""), "check")

    assert result.returncode != 0
    assert "pages would be printed on the console: EMAIL_HOST is not set" in result.stderr


def test_console_channels_setting_allows_printing_in_production(tmp_path):
    env = _production(tmp_path, **_PRINTING, PAGING_CONSOLE_CHANNELS="true")

    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_celery_worker_refuses_to_start_when_pages_would_be_printed(tmp_path):
    command = [sys.executable, "-m", "celery", "-A", "oncall", "worker", "-P", "solo"]

    result = _start(command, _production(tmp_path, **_PRINTING))

    assert result.returncode != 0
    assert "(paging.E002)" in result.stderr


def test_gunicorn_refuses_to_start_when_pages_would_be_printed(tmp_path):
    env = _production(tmp_path, **_PRINTING)
    env |= {"GUNICORN_BIND": f"127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "1"}
    command = [sys.executable, "-m", "gunicorn", "-c", "python:oncall.gunicorn", "oncall.wsgi"]

    result = _start(command, env)

    assert result.returncode != 0
    assert "(paging.E002)" in result.stderr


def test_console_sms_is_marked_printed_on_the_timeline_not_sent(payments):
    incident = page(payments)  # no Twilio configured: the console channel

    assert timeline(incident)[-1] == (
        "SMS printed on the console (no Twilio configured) for Alice Adams"
    )
    assert Notification.objects.get().provider_status == "printed"


def test_console_email_is_marked_printed_on_the_timeline_not_sent(
    payments, alice, alice_email, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    alice.contact_methods.filter(kind="sms").delete()

    incident = page(payments)

    assert timeline(incident)[-1] == (
        "E-mail printed on the console (no EMAIL_HOST configured) for Alice Adams"
    )
    assert Notification.objects.get().provider_status == "printed"
