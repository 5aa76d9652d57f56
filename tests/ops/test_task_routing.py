"""Separate queues per kind of work: with the e-mail pool stuck (here: not running at all),
SMS pages still go out at once, and the e-mail waits in its own queue. The SMS worker, run as
in its own container, serves its own metrics. (A phone page due at once goes out from the
escalation worker itself; here the SMS rule waits a second so that the SMS pool sends it.)"""

import datetime as dt
import json
import urllib.request

import pytest

from paging.models import NotificationRule
from tests.conftest import require_services
from tests.e2e.conftest import _database_url
from tests.factories import ContactMethodFactory, IntegrationFactory
from tests.ops.cluster import Cluster, free_port, service_env
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def queue_depth(url: str, queue: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    line = next(
        x
        for x in text.splitlines()
        if x.startswith(f'oncall_celery_queue_depth{{queue="{queue}"}}')
    )
    return float(line.rsplit(" ", 1)[1])


def test_sms_pages_go_out_while_no_worker_takes_email(
    transactional_db, twilio, alice, payments, tmp_path
):
    require_services()
    email = ContactMethodFactory(user=alice, kind="email", address="alice@example.com")
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=email, delay=dt.timedelta(0))
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(seconds=1))
    integration = IntegrationFactory(service=payments)
    port = free_port()
    env = service_env(_database_url(), f"http://127.0.0.1:{port}", twilio.url)
    with Cluster(tmp_path, env) as cluster:
        cluster.redis()
        web = cluster.web("web", port=port)
        cluster.worker("core", queues="ingest,escalation,celery", concurrency=1)
        # As in its own container: its own metrics directory, served on its own port.
        metrics_port = free_port()
        own = tmp_path / "phone-metrics"
        own.mkdir()
        cluster.worker(
            "phone",
            queues="deliver.sms,deliver.voice",
            concurrency=1,
            PROMETHEUS_MULTIPROC_DIR=str(own),
            WORKER_METRICS_PORT=str(metrics_port),
        )

        request = urllib.request.Request(
            f"{web}/integrations/{integration.key}/",
            data=json.dumps({"summary": "Disk full"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=20).close()

        (page,) = twilio.wait_for_messages(1, to="+15550100001", timeout=30)
        wait_until(lambda: queue_depth(web, "deliver.email") == 1, timeout=10, what="the e-mail")
        assert queue_depth(web, "deliver.sms") == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/", timeout=10) as answer:
            exported = answer.read().decode()
    assert 'oncall_notifications_total{channel="sms",outcome="sent"} 1.0' in exported
    assert page.body.endswith("reply 1A ack, 1R resolve")
