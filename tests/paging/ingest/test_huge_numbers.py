"""Numbers no float or int can hold, anywhere in a webhook body: kept as their text and paged.

A 5xx would be retried forever while nobody is paged, and a 4xx dropped for good by Alertmanager,
so a detail that cannot be a number is stored as the text the sender wrote.
"""

import json

import pytest

from paging.models import Alert, Incident
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_ingest_paths")]

# Past float's range either way, and past Python's default int digit limit (4300).
HUGE = {"1e400": "1e400", "-2E+999": "-2E+999", "9" * 5000: "9" * 5000}


def huge_details() -> str:
    """Return a JSON object text with each huge number as a value, next to ordinary ones."""
    fields = [f'"n{i}": {number}' for i, number in enumerate(HUGE)]
    return "{" + ", ".join([*fields, '"load": 1.5', '"count": 3']) + "}"


def expected_details() -> dict:
    return {**{f"n{i}": text for i, text in enumerate(HUGE.values())}, "load": 1.5, "count": 3}


def post(client, url: str, body: str):
    return client.post(url, body, content_type="application/json")


def assert_paged(incident: Incident) -> None:
    assert incident.status == "triggered"
    assert incident.escalation_due_at is not None


def test_generic_details_with_numbers_too_large_for_a_float_are_kept_as_text_and_paged(
    client, payments
):
    integration = IntegrationFactory(service=payments, name="cron jobs")
    body = '{"summary": "Disk full", "details": ' + huge_details() + "}"

    response = post(client, f"/integrations/{integration.key}/", body)

    assert response.status_code == 202, response.content[:200]
    incident = Incident.objects.get()
    assert incident.details == expected_details()
    assert_paged(incident)


def test_pagerduty_custom_details_with_huge_numbers_are_kept_as_text_and_paged(client, payments):
    integration = IntegrationFactory(service=payments, name="events", kind="pagerduty_v2")
    payload = '{"summary": "Disk full", "source": "db1", "severity": "critical", '
    payload += '"custom_details": ' + huge_details() + "}"
    envelope = f'"routing_key": "{integration.key}", "event_action": "trigger"'
    body = "{" + envelope + ', "payload": ' + payload + "}"

    response = post(client, "/v2/enqueue", body)

    assert response.status_code == 202, response.content[:200]
    incident = Incident.objects.get()
    assert incident.details["custom_details"] == expected_details()
    assert_paged(incident)


@pytest.mark.parametrize("kind", ["alertmanager", "grafana"])
def test_alert_extra_fields_with_huge_numbers_are_kept_as_text_and_paged(client, payments, kind):
    integration = IntegrationFactory(service=payments, name="prometheus", kind=kind)
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskFull"},
        "annotations": {"summary": "Disk full"},
        "fingerprint": "aaa1",
    }
    alert_text = json.dumps(alert)[:-1] + ', "value": 1e400, "extra": ' + huge_details() + "}"
    body = '{"version": "4", "groupKey": "g", "status": "firing", "alerts": [' + alert_text + "]}"

    response = post(client, f"/integrations/{integration.key}/", body)

    assert response.status_code == 202, response.content[:200]
    payload = Alert.objects.get().payload
    assert (payload["value"], payload["extra"]) == ("1e400", expected_details())
    assert_paged(Incident.objects.get())
