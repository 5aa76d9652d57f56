"""One page, end to end: web, a real Celery worker on Redis, PostgreSQL, and Twilio (fake)."""

import datetime as dt
import json
import urllib.request

import pytest
from django.utils import timezone

from paging.engine import sweep
from paging.models import Incident, Notification
from tests.factories import IntegrationFactory, PolicyFactory, ServiceFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def post_alert(live_server, integration, **alert) -> dict:
    request = urllib.request.Request(
        f"{live_server.url}/integrations/{integration.key}/",
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        return json.loads(response.read())


def service_paging(alice, bob, timeout: dt.timedelta):
    policy = PolicyFactory(levels=[[alice], [bob]], levels__timeout=timeout)
    return IntegrationFactory(service=ServiceFactory(name="payments", escalation_policy=policy))


def test_alert_pages_level_1_and_sms_reply_acknowledges(e2e, twilio, alice, bob):
    integration = service_paging(alice, bob, dt.timedelta(seconds=3))

    (incident_id,) = post_alert(e2e, integration, summary="Disk full on db1", dedup_key="db1")[
        "incidents"
    ]
    (page,) = twilio.wait_for_messages(1, to="+15550100001")
    assert page.body == f"#{incident_id} CRIT payments: Disk full on db1 - reply 1A ack, 1R resolve"

    status, answer = twilio.send_inbound_sms(
        f"{e2e.url}/twilio/sms/", from_="+15550100001", to=page.from_, body="1A"
    )

    assert status == 200
    assert f"Acknowledged #{incident_id}" in answer
    incident = Incident.objects.get(pk=incident_id)
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    # No more pages: once Level 2 would have been due, nothing pages it, worker or sweeper.
    due = incident.acknowledged_at + dt.timedelta(seconds=3)
    wait_until(lambda: timezone.now() > due, timeout=10, what="Level 2's due time to pass")
    sweep()
    assert not Notification.objects.filter(incident_id=incident_id, tier=1).exists()
    assert [m.to for m in twilio.messages] == ["+15550100001"]


def test_no_reply_pages_level_2_after_the_timeout(e2e, twilio, alice, bob):
    integration = service_paging(alice, bob, dt.timedelta(seconds=2))

    (incident_id,) = post_alert(e2e, integration, summary="API down", severity="error")["incidents"]
    (_first,) = twilio.wait_for_messages(1, to="+15550100001")
    (second,) = twilio.wait_for_messages(1, to="+15550100002", timeout=20)

    assert second.body.startswith(f"#{incident_id} ERR payments: API down")
    timeline = [e.message for e in Incident.objects.get(pk=incident_id).timeline.all()]
    assert "Level 1 paged: Alice Adams" in timeline
    assert "Level 2 paged: Bob Brown" in timeline
    paged = Notification.objects.filter(incident_id=incident_id).order_by("tier")
    level_1_due, level_2_due = (n.due_at for n in paged)
    assert level_2_due - level_1_due >= dt.timedelta(seconds=2)
