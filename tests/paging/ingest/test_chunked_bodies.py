"""Webhook bodies sent with `Transfer-Encoding: chunked` (no Content-Length) are read whole.

Django reads a body only as far as Content-Length says, so a chunked one looked empty and got
`400 not valid JSON`, which Alertmanager drops for good. The tests send real chunked requests to
gunicorn as deployed, and through the WSGI entry point gunicorn calls, the 1 MiB cap included.
"""

import http.client
import io
import json
from urllib.parse import urlsplit

import pytest

from oncall.wsgi import application
from paging.models import Alert, Incident
from tests.conftest import require_services
from tests.e2e.conftest import _database_url
from tests.factories import IntegrationFactory
from tests.ops.cluster import Cluster, free_port, service_env

MIB = 1024 * 1024


def alertmanager_body(**extra: object) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db1"},
        "annotations": {"summary": "Disk full on db1"},
        "startsAt": "2026-11-23T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "aaa1",
        **extra,
    }
    notification = {"version": "4", "groupKey": "{}:{}", "status": "firing", "alerts": [alert]}
    return json.dumps(notification).encode()


def pieces(body: bytes, size: int = 700) -> list[bytes]:
    """Return `body` cut into chunks, as a streaming sender writes it."""
    return [body[i : i + size] for i in range(0, len(body), size)]


def assert_paged_once() -> None:
    incident = Incident.objects.get()
    assert (incident.summary, incident.status) == ("Disk full on db1", "triggered")
    assert incident.escalation_due_at is not None


# --- through gunicorn, as deployed ----------------------------------------------------------


@pytest.fixture
def web(transactional_db, twilio, tmp_path):
    """Gunicorn with the production config, on the test database; its base URL."""
    require_services()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with Cluster(tmp_path, service_env(_database_url(), public, twilio.url)) as cluster:
        cluster.redis()
        cluster.web("web", port=port, workers=1)
        yield public


def post_chunked(url: str, chunks: list[bytes]) -> tuple[int, dict]:
    """POST `chunks` with Transfer-Encoding: chunked (http.client sends no Content-Length)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", parts.path, body=iter(chunks), headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_chunked_alertmanager_post_to_gunicorn_is_paged(web, payments):
    integration = IntegrationFactory(service=payments, name="prometheus", kind="alertmanager")

    status, answer = post_chunked(
        f"{web}/integrations/{integration.key}/", pieces(alertmanager_body())
    )

    assert status == 202, answer
    assert answer["incidents"] == [Incident.objects.get().pk]
    assert_paged_once()


def test_chunked_body_over_one_mebibyte_to_gunicorn_is_413_and_stores_nothing(web, payments):
    integration = IntegrationFactory(service=payments, name="prometheus", kind="alertmanager")
    body = alertmanager_body(padding="x" * MIB)

    status, answer = post_chunked(f"{web}/integrations/{integration.key}/", pieces(body, 64 * 1024))

    assert status == 413, answer
    assert answer["error"] == "payload too large"
    assert not Alert.objects.exists()


# --- through the WSGI entry point gunicorn calls (no services needed) ------------------------


def call_wsgi(path: str, body: bytes) -> tuple[str, dict]:
    """Call `oncall.wsgi.application` as gunicorn does for a chunked request it has decoded."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,  # the server ends the stream where the body ends
        "wsgi.errors": io.StringIO(),
    }
    answered = []
    chunks = application(environ, lambda status, headers: answered.append(status))
    return answered[0], json.loads(b"".join(chunks))


@pytest.mark.django_db(transaction=True)
def test_chunked_generic_post_through_the_wsgi_entry_point_is_stored(payments):
    integration = IntegrationFactory(service=payments, name="cron jobs")
    body = json.dumps({"summary": "Disk full on db1", "dedup_key": "db1-disk"}).encode()

    status, answer = call_wsgi(f"/integrations/{integration.key}/", body)

    assert status.startswith("202"), answer
    assert_paged_once()


@pytest.mark.django_db(transaction=True)
def test_chunked_body_over_one_mebibyte_through_the_wsgi_entry_point_is_413(payments):
    integration = IntegrationFactory(service=payments, name="cron jobs")
    body = json.dumps({"summary": "Disk full", "details": {"blob": "a" * MIB}}).encode()

    status, answer = call_wsgi(f"/integrations/{integration.key}/", body)

    assert status.startswith("413"), answer
    assert not Incident.objects.exists()
