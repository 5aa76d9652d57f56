"""Settings from the environment: strict parsing, clear errors, safe defaults."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from oncall import env
from oncall.logs import redact


@pytest.fixture
def environ(monkeypatch):
    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


@pytest.mark.parametrize("value", ["true", "1", "YES", "on"])
def test_true_spellings(environ, value):
    environ(FLAG=value)
    assert env.env_bool("FLAG", False) is True


def test_bad_boolean_is_an_error_naming_the_variable(environ):
    environ(FLAG="ture")
    with pytest.raises(ImproperlyConfigured, match="FLAG: 'ture' is not a boolean"):
        env.env_bool("FLAG", False)


def test_bad_url_is_an_error_naming_the_variable(environ):
    environ(SOME_URL="localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="SOME_URL: 'localhost:6379' must start with"):
        env.env_url("SOME_URL", schemes=("redis",))


def test_url_without_host_is_an_error(environ):
    environ(SOME_URL="https://")
    with pytest.raises(ImproperlyConfigured, match="names no host"):
        env.env_url("SOME_URL", schemes=("https",))


def test_bad_number_is_an_error(environ):
    environ(COUNT="ten")
    with pytest.raises(ImproperlyConfigured, match="COUNT: 'ten' is not a whole number"):
        env.env_int("COUNT", 1)


def test_duration_takes_a_unit_and_refuses_what_is_below_its_minimum(environ):
    hour = dt.timedelta(hours=1)
    environ(QUARANTINE="36h")
    assert env.env_duration("QUARANTINE", "24h", minimum=hour) == dt.timedelta(hours=36)
    environ(QUARANTINE="10m")
    with pytest.raises(ImproperlyConfigured, match="QUARANTINE: '10m' is below the minimum"):
        env.env_duration("QUARANTINE", "24h", minimum=hour)
    environ(QUARANTINE="a day")
    with pytest.raises(ImproperlyConfigured, match="QUARANTINE: 'a day' is not a delay"):
        env.env_duration("QUARANTINE", "24h", minimum=hour)


def test_secret_can_come_from_a_file(environ, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    environ(TOKEN_FILE=str(secret))
    assert env.env_str("TOKEN") == "s3cret"


def test_unset_variable_gives_the_default():
    assert env.env_list("SURELY_UNSET_VARIABLE", ["a"]) == ["a"]


def _django_check(**overrides: str) -> subprocess.CompletedProcess:
    keep = {"PATH", "HOME", "VIRTUAL_ENV"}
    environ = {k: v for k, v in os.environ.items() if k in keep}
    environ.update(VAR_DIR=os.environ.get("TMPDIR", "/tmp") + "/oncall-check", **overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = _django_check(DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY: required when DEBUG is off" in result.stderr


def test_bad_database_url_names_the_variable():
    result = _django_check(DEBUG="true", DATABASE_URL="mysql//nope")

    assert result.returncode != 0
    assert "DATABASE_URL: 'mysql//nope' must start with one of" in result.stderr


def test_half_configured_twilio_fails_the_system_check():
    result = _django_check(DEBUG="true", TWILIO_ACCOUNT_SID="AC123")

    assert result.returncode != 0
    assert "Twilio is half configured: TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER not set" in (
        result.stderr
    )


def test_embedded_defaults_pass_the_system_check():
    result = _django_check(DEBUG="true")

    assert result.returncode == 0, result.stderr


def test_logs_never_show_integration_keys_or_whole_phone_numbers():
    line = "Not Found: /integrations/AbC-123_xyz/ paging +15550100001"

    assert redact(line) == "Not Found: /integrations/[redacted]/ paging +15***01"


def test_a_retired_variable_still_set_is_a_warning_at_start_up(monkeypatch):
    monkeypatch.setenv("PAGING_SENDING_STALE_SECONDS", "60")

    found = [m for m in run_checks() if m.id == "paging.W001"]

    assert [m.msg for m in found] == ["PAGING_SENDING_STALE_SECONDS is set but no longer read"]
    assert "TWILIO_TIMEOUT_SECONDS" in found[0].hint


def test_a_header_variable_gives_its_meta_key_and_refuses_a_bad_name(environ):
    environ(SOME_HEADER="X-Real-IP")
    assert env.env_header("SOME_HEADER") == "HTTP_X_REAL_IP"
    environ(SOME_HEADER="X Real IP")
    with pytest.raises(
        ImproperlyConfigured, match="SOME_HEADER: 'X Real IP' is not an HTTP header"
    ):
        env.env_header("SOME_HEADER")
