"""What a webhook answers to requests it cannot take: a JSON 4xx (or 503), and nothing stored."""

import json

import pytest
from django.db import connection

from paging.models import Alert, Incident, TimelineEntry
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_ingest_paths")]


@pytest.fixture
def integration(payments):
    return IntegrationFactory(service=payments, name="cron jobs")


def url(integration) -> str:
    return f"/integrations/{integration.key}/"


def nothing_stored() -> bool:
    return not (
        Incident.objects.exists() or Alert.objects.exists() or TimelineEntry.objects.exists()
    )


def test_disabled_integration_is_403_with_the_reason(client, integration):
    integration.enabled = False
    integration.disabled_reason = "moved to the new Grafana"
    integration.save()

    response = client.post(url(integration), {"summary": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert response.json() == {
        "error": "integration disabled",
        "reason": "moved to the new Grafana",
    }
    assert nothing_stored()


def test_wrong_content_type_is_415(client, integration):
    response = client.post(url(integration), "summary=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["message"] == "send application/json"
    assert nothing_stored()


def test_json_with_charset_and_vendor_json_types_are_accepted(client, integration):
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        body = json.dumps({"summary": "x"})
        assert client.post(url(integration), body, content_type=content_type).status_code == 202


def test_body_over_one_mebibyte_is_413(client, integration):
    body = json.dumps({"summary": "x", "details": {"blob": "a" * (1024 * 1024)}})

    response = client.post(url(integration), body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"] == "payload too large"
    assert nothing_stored()


def test_put_is_405_naming_the_allowed_method(client, integration):
    response = client.put(url(integration), "{}", content_type="application/json")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "use POST" in response.json()["error"]


def test_rotated_key_retires_the_old_url(client, integration):
    old = url(integration)
    integration.rotate_key()

    assert client.post(old, {"summary": "x"}, content_type="application/json").status_code == 404
    response = client.post(url(integration), {"summary": "x"}, content_type="application/json")
    assert response.status_code == 202


def test_database_fault_is_503_so_the_tool_retries(client, integration):
    if connection.vendor != "postgresql":
        pytest.skip("uses a PostgreSQL trigger to make the insert fail")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$;"
            "CREATE TRIGGER refuse BEFORE INSERT ON paging_alert EXECUTE FUNCTION refuse();"
        )

    response = client.post(url(integration), {"summary": "x"}, content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "retry" in response.json()["error"]


def test_nan_and_deep_nesting_are_400_not_500(client, integration):
    # Huge numbers are kept as text instead (test_huge_numbers.py).
    for body in (
        '{"summary": "x", "details": {"load": NaN}}',
        '{"summary": "x", "details": ' + "[" * 100000 + "]" * 100000 + "}",
    ):
        response = client.post(url(integration), body, content_type="application/json")
        assert response.status_code == 400, body[:40]
        assert response.json()["field"] == "body"
    assert nothing_stored()


def test_escaped_nul_is_stored_as_a_replacement_character(client, integration):
    body = '{"summary": "disk\\u0000full", "dedup_key": "k\\u0000"}'

    response = client.post(url(integration), body, content_type="application/json")

    assert response.status_code == 202
    assert Incident.objects.get().summary == "disk\ufffdfull"


def test_escaped_unpaired_surrogate_is_stored_as_a_replacement_character(client, integration):
    # JSON allows "\ud800" alone; PostgreSQL cannot store it, and a 503 would be retried forever.
    body = '{"summary": "disk \\ud800full \\ud83d\\ude00", "details": {"\\udfff": "\\ud800"}}'

    response = client.post(url(integration), body, content_type="application/json")

    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.summary == "disk \ufffdfull \U0001f600"
    assert incident.details == {"\ufffd": "\ufffd"}
