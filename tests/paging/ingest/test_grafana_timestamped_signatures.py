"""Grafana's timestamped signatures: HMAC over `timestamp:body`, within a replay window."""

import hmac
import json
import time

import pytest

from paging.models import Incident
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret"
STAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
BODY = json.dumps(
    {
        "receiver": "oncall",
        "status": "firing",
        "groupKey": '{}:{alertname="HighLatency"}',
        "title": "[FIRING:1] HighLatency",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency"},
                "annotations": {},
                "startsAt": "2026-01-01T00:00:00Z",
                "fingerprint": "ccc3",
            }
        ],
    }
).encode()


def grafana(payments, **fields):
    return IntegrationFactory(
        service=payments, name="grafana", kind="grafana", signing_secret=SECRET, **fields
    )


def signed_headers(stamp: int | None) -> dict[str, str]:
    """Return the headers Grafana sends: the signature, over `stamp:body` when stamped."""
    signed = BODY if stamp is None else f"{stamp}:".encode() + BODY
    headers = {
        "X-Grafana-Alerting-Signature": hmac.new(SECRET.encode(), signed, "sha256").hexdigest()
    }
    if stamp is not None:
        headers[STAMP_HEADER] = str(stamp)
    return headers


def post(client, integration, headers):
    return client.post(
        f"/integrations/{integration.key}/", BODY, content_type="application/json", headers=headers
    )


def test_timestamped_signature_is_accepted(client, payments):
    response = post(client, grafana(payments), signed_headers(int(time.time())))

    assert response.status_code == 202
    assert Incident.objects.count() == 1


def test_untimestamped_signature_is_still_accepted_when_not_required(client, payments):
    assert post(client, grafana(payments), signed_headers(None)).status_code == 202


def test_required_timestamp_missing_is_refused_naming_the_header(client, payments):
    integration = grafana(payments, signing_timestamp_required=True)

    response = post(client, integration, signed_headers(None))

    assert response.status_code == 401
    assert STAMP_HEADER in response.json()["message"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize("age", [301, 3600, -301], ids=["stale", "an hour old", "future"])
def test_timestamp_outside_the_replay_window_is_refused(client, payments, age):
    integration = grafana(payments, signing_timestamp_required=True)

    response = post(client, integration, signed_headers(int(time.time()) - age))

    assert response.status_code == 401
    assert STAMP_HEADER in response.json()["message"]
    assert "5 minutes" in response.json()["message"]
    assert not Incident.objects.exists()


def test_required_fresh_timestamp_is_accepted(client, payments):
    integration = grafana(payments, signing_timestamp_required=True)

    assert post(client, integration, signed_headers(int(time.time()) - 60)).status_code == 202


def test_replay_window_follows_its_setting(client, payments, settings):
    settings.GRAFANA_SIGNATURE_MAX_AGE_SECONDS = 30
    integration = grafana(payments, signing_timestamp_required=True)

    response = post(client, integration, signed_headers(int(time.time()) - 60))

    assert response.status_code == 401


def test_timestamp_header_name_is_the_integrations(client, payments):
    integration = grafana(payments, signing_timestamp_header="X-Stamp")
    headers = signed_headers(int(time.time()))
    headers["X-Stamp"] = headers.pop(STAMP_HEADER)

    assert post(client, integration, headers).status_code == 202
