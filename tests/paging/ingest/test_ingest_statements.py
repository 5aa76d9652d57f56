"""On PostgreSQL a repeat trigger or a new incident costs one statement after the lookup."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paging.models import Incident
from tests.conftest import require_services
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def post(client, integration, body):
    return client.post(f"/integrations/{integration.key}/", body, content_type="application/json")


def test_on_postgresql_a_repeat_or_a_new_incident_is_one_statement(client, payments):
    require_services()
    integration = IntegrationFactory(service=payments)
    integration.service.storm_cap = 0
    integration.service.save()
    post(client, integration, {"summary": "Disk full", "dedup_key": "db1"})

    with CaptureQueriesContext(connection) as repeat:
        post(client, integration, {"summary": "Disk full", "dedup_key": "db1"})
    with CaptureQueriesContext(connection) as new:
        post(client, integration, {"summary": "CPU hot", "dedup_key": "cpu"})

    # The integration lookup, then one statement (a new key first tries to join).
    assert len(repeat) == 2
    assert len(new) == 3
    assert Incident.objects.get(dedup_key="db1").alert_count == 2
