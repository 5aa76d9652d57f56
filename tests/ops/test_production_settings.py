"""Production settings: `check --deploy` is clean with .env.example; HTTPS hardens the answers."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADERS = """
from django.test import Client
r = Client().get("/admin/login/", secure=True, HTTP_HOST="oncall.example.com")
print(r.status_code)
for name in ("Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
             "Referrer-Policy", "Cross-Origin-Opener-Policy"):
    print(f"{name}: {r.headers.get(name)}")
for cookie in r.cookies.values():
    flags = f"secure={bool(cookie['secure'])} httponly={bool(cookie['httponly'])}"
    print(f"cookie {cookie.key}: {flags}")
"""


def example_environment() -> dict[str, str]:
    """Return .env.example's settings, with real-looking secrets where it leaves them blank."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    values["TWILIO_AUTH_TOKEN"] = secrets.token_hex(16)
    values["EMAIL_HOST_PASSWORD"] = secrets.token_hex(8)
    return values


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "VIRTUAL_ENV"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_passes_with_the_documented_production_settings(tmp_path):
    env = example_environment() | {"VAR_DIR": str(tmp_path)}

    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_https_public_url_sends_hsts_security_headers_and_secure_cookies(tmp_path):
    env = example_environment() | {"VAR_DIR": str(tmp_path), "LOG_LEVEL": "ERROR"}

    result = run_manage(env, "shell", "--no-imports", "-c", HEADERS)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "200"
    assert "Strict-Transport-Security: max-age=31536000; includeSubDomains; preload" in lines
    assert "X-Content-Type-Options: nosniff" in lines
    assert "X-Frame-Options: DENY" in lines
    assert "Referrer-Policy: same-origin" in lines
    assert "Cross-Origin-Opener-Policy: same-origin" in lines
    assert "cookie csrftoken: secure=True httponly=False" in lines


def test_plain_http_public_url_sends_no_hsts(tmp_path):
    env = example_environment() | {
        "VAR_DIR": str(tmp_path),
        "PUBLIC_URL": "http://oncall.example.com",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "ERROR",
    }

    result = run_manage(env, "shell", "--no-imports", "-c", HEADERS)

    assert result.returncode == 0, result.stderr
    assert "Strict-Transport-Security: None" in result.stdout.splitlines()
