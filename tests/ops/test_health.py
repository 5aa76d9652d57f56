"""Probes: /healthz says the process is alive; /readyz names what is not ready."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.conftest import require_services

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
from django.test import Client
r = Client().get("/readyz", HTTP_HOST="10.1.2.3")
print(r.status_code, r.content.decode())
"""


def _readyz_in_process(**overrides: str) -> tuple[int, str]:
    """Ask /readyz of a fresh process with the given environment."""
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "probe-test-secret", **overrides}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    return int(status), body


def test_healthz_answers_any_host_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/healthz", HTTP_HOST="10.1.2.3")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_broker_and_migrations_are(client, db):
    require_services()

    response = client.get("/readyz", HTTP_HOST="10.1.2.3")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert list(response.json()["failing"]) == ["broker"]


def test_readyz_names_the_database_when_it_is_unreachable():
    status, body = _readyz_in_process(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", CELERY_BROKER_URL="memory://"
    )

    assert status == 503
    assert '"database": "unreachable: OperationalError"' in body


@pytest.fixture
def empty_database():
    """A database on the test server with no tables at all."""
    require_services()
    params = connection.settings_dict
    name = f"{params['NAME']}_unmigrated"
    admin = f"postgresql://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield admin.rsplit("/", 1)[0].replace("postgresql", "postgres", 1) + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_readyz_says_how_many_migrations_are_unapplied(empty_database):
    status, body = _readyz_in_process(DATABASE_URL=empty_database, CELERY_BROKER_URL="memory://")

    assert status == 503
    assert '"migrations":' in body and "unapplied" in body
    assert '"database"' not in body
