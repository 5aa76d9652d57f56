"""Graceful shutdown: a worker told to stop (SIGTERM) finishes the page it is sending and hands
back the work it held; nothing is lost and nothing is sent twice. No beat runs here, so the
sweeper cannot be what saves the day."""

import datetime as dt
import json
import signal
import urllib.request

import pytest
from django.utils import timezone

from paging.models import Incident, Notification
from tests.conftest import require_services
from tests.e2e.conftest import _database_url
from tests.factories import IntegrationFactory, PolicyFactory, ServiceFactory
from tests.ops.cluster import Cluster, free_port, service_env
from tests.ops.gate import Gate
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def post_alert(url: str, key: str) -> int:
    request = urllib.request.Request(
        f"{url}/integrations/{key}/",
        data=json.dumps({"summary": "Disk full"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 202
        return json.loads(response.read())["incidents"][0]


def test_sigterm_finishes_the_send_in_flight_and_requeues_the_next_level(
    transactional_db, twilio, alice, bob, tmp_path
):
    require_services()
    policy = PolicyFactory(levels=[[alice], [bob]], levels__timeout=dt.timedelta(seconds=6))
    integration = IntegrationFactory(service=ServiceFactory(name="db", escalation_policy=policy))
    port = free_port()
    with Gate(twilio.url) as gate:
        env = service_env(_database_url(), f"http://127.0.0.1:{port}", gate.url)
        with Cluster(tmp_path, env) as cluster:
            cluster.redis()
            web = cluster.web("web", port=port)
            worker = cluster.worker("worker-1", concurrency=2)

            incident_id = post_alert(web, integration.key)
            assert gate.wait_for_request(timeout=30), "the worker never called Twilio"
            worker.send_signal(signal.SIGTERM)
            wait_until(
                lambda: "Warm shutdown" in cluster.log("worker-1").read_text(),
                timeout=10,
                what="the worker to start its warm shutdown",
            )
            assert worker.poll() is None  # it waits for the send in flight
            gate.open()
            assert cluster.stop("worker-1", timeout=30) == 0
            level_2_due = Incident.objects.get(pk=incident_id).escalation_due_at
            assert timezone.now() < level_2_due  # it stopped holding Level 2's task, unrun

            (page,) = twilio.wait_for_messages(1, to="+15550100001", timeout=5)
            sent = Notification.objects.get(incident_id=incident_id, tier=0)
            assert (sent.status, sent.provider_id) == ("sent", page.sid)
            # Level 2's escalation was held by the stopped worker until due; it went back to
            # the queue, and a new worker pages Bob when it is due.
            cluster.worker("worker-2", concurrency=2)
            (second,) = twilio.wait_for_messages(1, to="+15550100002", timeout=30)

    assert second.body.startswith(f"#{incident_id} CRIT db: Disk full")
    assert [m.to for m in twilio.messages] == ["+15550100001", "+15550100002"]
