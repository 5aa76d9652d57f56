"""Time to first page: alert POST → Level 1 SMS at Twilio, through web, Redis and a worker."""

import datetime as dt
import json
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench import stack

SEQUENTIAL = 200
BURST = 200


def _seed(public_url: str) -> str:
    """Create a responder, a policy and a service; return the integration key."""
    from accounts.models import User
    from escalation.models import EscalationPolicy, Tier
    from paging.models import ContactMethod, Integration, Service

    user = User.objects.create(username="alice", first_name="Alice")
    ContactMethod.objects.create(user=user, kind="sms", address="+15550100001", verified=True)
    policy = EscalationPolicy.objects.create(name="bench")
    tier = Tier.objects.create(policy=policy, position=0, ack_timeout=dt.timedelta(hours=1))
    tier.users.add(user)
    # A burst of distinct alerts is the point here, so storm folding is off.
    service = Service.objects.create(name="bench", escalation_policy=policy, storm_cap=0)
    return Integration.objects.create(service=service, name="bench", kind="generic").key


def _post(url: str, n: int) -> float:
    body = json.dumps({"summary": f"bench alert {n}", "dedup_key": f"bench-{n}"}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202, response.status
    return time.perf_counter() - started


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run() -> list[dict]:
    """Measure ingest latency, alert-to-SMS latency, and a burst's paging throughput."""
    from tests.fakes.twilio import FakeTwilio

    stack.recreate_database()
    with FakeTwilio() as fake:
        env = stack.base_env(
            TWILIO_ACCOUNT_SID=fake.account_sid,
            TWILIO_AUTH_TOKEN=fake.auth_token,
            TWILIO_FROM_NUMBER="+15559990000",
            TWILIO_API_BASE_URL=fake.url,
            # This measures the pipeline, one SMS per alert to one number: no carrier-safe
            # spacing or bundling, which would (rightly) fold the burst into a few SMS.
            PAGING_SMS_MIN_INTERVAL_SECONDS="0",
            PAGING_SMS_MAX_PER_HOUR="100000",
            PAGING_SMS_BUNDLE="false",
        )
        with stack.running(env) as base:
            env["PUBLIC_URL"] = base
            url = f"{base}/integrations/{_seed(base)}/"
            ingest, page = [], []
            for n in range(SEQUENTIAL):
                started = time.perf_counter()
                ingest.append(_post(url, n))
                fake.wait_for_messages(n + 1, timeout=30)
                page.append(time.perf_counter() - started)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda n: _post(url, n), range(SEQUENTIAL, SEQUENTIAL + BURST)))
            fake.wait_for_messages(SEQUENTIAL + BURST, timeout=120)
            burst = time.perf_counter() - started
    ms = 1000
    return [
        {
            "name": "alert ingest (POST → 202) p50",
            "value": statistics.median(ingest) * ms,
            "unit": "ms",
        },
        {
            "name": "alert ingest (POST → 202) p99",
            "value": _percentile(ingest, 99) * ms,
            "unit": "ms",
        },
        {
            "name": f"alert → Level 1 SMS at Twilio p50 ({SEQUENTIAL} alerts, one at a time)",
            "value": statistics.median(page) * ms,
            "unit": "ms",
        },
        {
            "name": f"alert → Level 1 SMS at Twilio p99 ({SEQUENTIAL} alerts, one at a time)",
            "value": _percentile(page, 99) * ms,
            "unit": "ms",
        },
        {"name": "alert → Level 1 SMS at Twilio max", "value": max(page) * ms, "unit": "ms"},
        {"name": f"burst of {BURST} alerts → all paged", "value": burst, "unit": "s"},
        {"name": "burst paging throughput", "value": BURST / burst, "unit": "pages/s"},
    ]
