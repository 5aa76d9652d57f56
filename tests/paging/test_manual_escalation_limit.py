"""Escalating by hand pages people: one incident is escalated by hand at most once a minute,
whichever face asks and however many ask at once."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import UserFactory
from tests.paging.notify.conftest import page
from tests.paging.test_escalation_engine import timeline

pytestmark = pytest.mark.django_db
REQUESTS = 6


def escalated(incident) -> int:
    return sum(line.startswith("Escalated by") for line in timeline(incident))


def test_second_escalate_within_a_minute_is_429_and_pages_no_one(twilio, payments, alice):
    incident = page(payments)
    api = client_for(alice)
    url = f"/api/v1/incidents/{incident.pk}/escalate/"

    first, second = api.post(url), api.post(url)

    assert (first.status_code, second.status_code) == (200, 429)
    assert 0 < int(second["Retry-After"]) <= 60
    body = second.json()
    assert body["limited"] == "incident"
    assert body["retry_after"] == int(second["Retry-After"])
    assert "escalated by hand less than 1 minute ago" in body["error"]
    assert escalated(incident) == 1
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert api.post(url).status_code == 200
    assert escalated(incident) == 2


@pytest.mark.postgresql
def test_simultaneous_escalate_requests_escalate_once(transactional_db, twilio, payments, alice):
    incident = page(payments)
    clients = [client_for(alice) for _ in range(REQUESTS)]
    start, statuses = threading.Barrier(REQUESTS), []

    def escalate(api) -> None:
        try:
            start.wait(timeout=10)
            statuses.append(api.post(f"/api/v1/incidents/{incident.pk}/escalate/").status_code)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=escalate, args=(api,)) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200] + [429] * (REQUESTS - 1)
    assert escalated(incident) == 1


def test_admin_escalate_says_in_words_when_it_is_too_soon(twilio, payments, client):
    incident = page(payments)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = reverse("admin:paging_incident_changelist")
    action = {"action": "escalate", "_selected_action": [incident.pk]}

    client.post(changelist, action)
    shown = client.post(changelist, action, follow=True).content.decode()

    assert f"#{incident.pk} not escalated: it was escalated by hand less than 1 minute ago" in shown
    assert escalated(incident) == 1


def test_the_limit_is_a_setting(twilio, payments, alice, settings):
    settings.PAGING_MANUAL_ESCALATION_INTERVAL = dt.timedelta(0)
    incident = page(payments)
    api = client_for(alice)

    statuses = [api.post(f"/api/v1/incidents/{incident.pk}/escalate/").status_code for _ in "ab"]

    assert statuses == [200, 200]
