"""A full page cycle through production processes: gunicorn, a Celery worker, beat, a private
redis-server. Then what an operator sees: JSON logs with request ids and no secrets, and the
metrics one scrape of the web process shows, worker-side counts included."""

import json
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import ApiToken
from oncall.routing import QUEUE_NAMES
from paging.models import Incident, Notification
from schedules.models import CalendarFeed
from tests.conftest import require_services
from tests.e2e.conftest import _database_url
from tests.factories import IntegrationFactory
from tests.ops.cluster import Cluster, free_port, service_env
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e
REQUEST_ID = "ops-test-request-0001"
# What Celery itself prints to the console, outside logging, when a worker stops.
CELERY_CONSOLE = {"", "worker: Warm shutdown (MainProcess)"}


def http(method: str, url: str, body: dict | None = None, **headers: str) -> tuple[int, dict, str]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **headers} if data else headers
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def cluster(transactional_db, twilio, tmp_path):
    """Web, one worker on every queue, and beat; JSON logs at DEBUG, the harshest level."""
    require_services()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = service_env(_database_url(), public, twilio.url, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    with Cluster(tmp_path, env) as running:
        running.redis()
        running.web("web", port=port)
        running.worker("worker")
        running.beat()
        running.url = public
        yield running


def page_cycle(cluster, twilio, payments) -> tuple[Incident, dict]:
    """Alert, page, delivery report, `1A` reply; return the incident and the alert's headers."""
    integration = IntegrationFactory(service=payments, name="prometheus")
    url = f"{cluster.url}/integrations/{integration.key}/"
    status, headers, body = http(
        "POST", url, {"summary": "Disk full"}, **{"X-Request-ID": REQUEST_ID}
    )
    assert status == 202, body
    incident = Incident.objects.get(pk=json.loads(body)["incidents"][0])
    (page,) = twilio.wait_for_messages(1, to="+15550100001", timeout=30)
    assert twilio.send_status_callback(page, "delivered")[0] == 200
    # It may reach the web before the worker heard the SID back: recorded all the same.
    wait_until(
        lambda: Notification.objects.filter(incident=incident, status="delivered").exists(),
        what="the delivery report to be recorded",
    )
    status, answer = twilio.send_inbound_sms(
        f"{cluster.url}/twilio/sms/", from_="+15550100001", to=page.from_, body="1A"
    )
    assert status == 200 and f"Acknowledged #{incident.pk}" in answer
    return incident, headers


def test_logs_are_json_carry_the_request_id_into_tasks_and_show_no_secret(
    cluster, twilio, payments, alice
):
    incident, headers = page_cycle(cluster, twilio, payments)
    # Secrets in URLs and headers that end up in log lines when requests fail or succeed.
    feed = CalendarFeed.objects.create(user=alice)
    assert http("GET", f"{cluster.url}/calendar/{feed.token}.ics")[0] == 200
    _, raw_token = ApiToken.issue(user=alice, name="ops")
    http("GET", f"{cluster.url}/api/v1/incidents/", Authorization=f"Bearer {raw_token}")
    http("POST", f"{cluster.url}/integrations/not-a-real-key-123456/", {"summary": "x"})
    cluster.close()  # flush and stop everything before reading the logs

    logs = {name: cluster.log(name).read_text().splitlines() for name in ("web", "worker", "beat")}
    records = {
        name: [json.loads(line) for line in lines if line not in CELERY_CONSOLE]
        for name, lines in logs.items()
    }
    assert headers["X-Request-ID"] == REQUEST_ID
    in_web = [r for r in records["web"] if r["request_id"] == REQUEST_ID]
    in_worker = [r for r in records["worker"] if r["request_id"] == REQUEST_ID]
    assert any(r["logger"] == "oncall.access" for r in in_web)
    assert in_worker, "the tasks the alert caused log with its request id"
    lines = [line for lines in logs.values() for line in lines]
    text = "\n".join(lines)
    keys = [i.key for i in paging_integrations(payments)] + ["not-a-real-key-123456"]
    for secret in [*keys, feed.token, raw_token, twilio.auth_token, "15550100001", "5550100001"]:
        assert secret not in text, secret
    assert f"#{incident.pk}" in twilio.messages[0].body


def paging_integrations(service):
    return list(service.integrations.all())


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    status, _, text = http("GET", f"{url}/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_one_scrape_of_web_shows_ingestion_worker_and_shared_state_metrics(
    cluster, twilio, payments
):
    page_cycle(cluster, twilio, payments)
    integration = IntegrationFactory(service=payments, name="bad")
    bad = http("POST", f"{cluster.url}/integrations/{integration.key}/", {"severity": "loud"})
    assert bad[0] == 400

    metrics = scrape(cluster.url)

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("oncall_alerts_received_total", kind="generic", outcome="accepted") == 1
    assert value("oncall_alerts_received_total", kind="generic", outcome="refused") == 1
    assert value("oncall_notifications_total", channel="sms", outcome="sent") == 1
    assert value("oncall_notifications_total", channel="sms", outcome="delivered") == 1
    assert value("oncall_time_to_first_page_seconds_count") == 1
    assert value("oncall_escalation_lateness_seconds_count") >= 1
    assert value("oncall_incidents", state="acknowledged") == 1
    assert value("oncall_incidents", state="triggered") == 0
    assert {labels for name, labels in metrics if name == "oncall_celery_queue_depth"} == {
        (("queue", q),) for q in QUEUE_NAMES
    }


def test_sweeper_catch_ups_are_counted_after_the_broker_was_down(cluster, twilio, payments):
    integration = IntegrationFactory(service=payments)
    cluster.stop("redis")
    status, _, _ = http(
        "POST", f"{cluster.url}/integrations/{integration.key}/", {"summary": "Down"}
    )
    assert status == 202  # stored; its escalation task could not be sent
    cluster.redis()
    twilio.wait_for_messages(1, to="+15550100001", timeout=60)

    caught_up = wait_until(
        lambda: scrape(cluster.url).get(
            ("oncall_sweeper_catchups_total", (("kind", "escalated"),))
        ),
        timeout=30,
        what="the sweeper's catch-up to be counted",
    )
    assert caught_up >= 1
    # Beat's sweeps run again: the gauge an alert on stalled sweeps watches moves on.
    wait_until(
        lambda: (
            scrape(cluster.url).get(("oncall_sweeper_last_run_timestamp_seconds", ()), 0)
            > time.time() - 5
        ),
        timeout=30,
        what="a recent sweep in the metrics",
    )
