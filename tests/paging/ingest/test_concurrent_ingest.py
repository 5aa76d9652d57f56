"""Identical webhooks at the same moment open one incident, never two (real PostgreSQL)."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from paging.models import Incident
from tests.conftest import require_services
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.usefixtures("both_ingest_paths")
SENDERS = 12


def test_simultaneous_identical_triggers_open_one_incident(transactional_db, payments):
    require_services()
    integration = IntegrationFactory(service=payments, name="prometheus")
    body = json.dumps({"summary": "Disk full", "dedup_key": "db1-disk"})
    start, answers = threading.Barrier(SENDERS), []

    def send() -> None:
        try:
            start.wait(timeout=10)
            response = Client().post(
                f"/integrations/{integration.key}/", body, content_type="application/json"
            )
            answers.append((response.status_code, tuple(response.json()["incidents"])))
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=send) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    incident = Incident.objects.get()
    assert answers == [(202, (incident.pk,))] * SENDERS
    assert incident.alert_count == SENDERS
    assert incident.alerts.count() == SENDERS
    assert incident.timeline.filter(kind="triggered").count() == 1
