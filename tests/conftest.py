"""Shared fixtures: personas, a fake Twilio wired into settings, and real-service checks."""

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import ContactMethodFactory, PolicyFactory, ServiceFactory, UserFactory
from tests.fakes.push import FakePushService, vapid_key_pem
from tests.fakes.twilio import FakeTwilio

TWILIO_FROM = "+15559990000"


def _redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2):
            return True
    except OSError:
        return False


def require_services(*, redis: bool = True) -> None:
    """Fail under CI=true, skip elsewhere, when PostgreSQL or Redis is not what the test uses."""
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (set DATABASE_URL=postgres://...)")
    redis_url = os.environ.get("REDIS_URL", "")
    if redis and (not redis_url or not _redis_reachable(redis_url)):
        missing.append("Redis (set REDIS_URL=redis://...)")
    if not missing:
        return
    message = "needs " + " and ".join(missing)
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, under CI, fail) a marked test before any of its fixtures reads a service."""
    if item.get_closest_marker("e2e"):
        require_services()
    elif item.get_closest_marker("postgresql"):
        require_services(redis=False)


def client_for(user) -> APIClient:
    """Return an API client that sends a fresh bearer token of `user`."""
    _, raw = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture(scope="session")
def fake_twilio():
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def twilio(fake_twilio, settings):
    """Send SMS through the real Twilio client to the fake, and accept its signatures."""
    fake_twilio.reset()
    settings.TWILIO_ACCOUNT_SID = fake_twilio.account_sid
    settings.TWILIO_AUTH_TOKEN = fake_twilio.auth_token
    settings.TWILIO_FROM_NUMBER = TWILIO_FROM
    settings.TWILIO_API_BASE_URL = fake_twilio.url
    return fake_twilio


@pytest.fixture(scope="session")
def fake_push():
    with FakePushService() as fake:
        yield fake


@pytest.fixture
def push_service(fake_push, settings):
    """A fake push service on 127.0.0.1, a fresh VAPID key in settings, and the guard open to it."""
    fake_push.reset()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = vapid_key_pem()
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:oncall@example.com"
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    return fake_push


@pytest.fixture
def alice(db):
    user = UserFactory(username="alice", first_name="Alice", last_name="Adams")
    ContactMethodFactory(user=user, address="+15550100001")
    return user


@pytest.fixture
def bob(db):
    user = UserFactory(username="bob", first_name="Bob", last_name="Brown")
    ContactMethodFactory(user=user, address="+15550100002")
    return user


@pytest.fixture
def payments(alice, bob):
    """A service whose policy pages Alice at Level 1 and Bob at Level 2, a minute each."""
    policy = PolicyFactory(levels=[[alice], [bob]])
    return ServiceFactory(name="payments", escalation_policy=policy)


@pytest.fixture(params=["fast path", "ORM path"])
def both_ingest_paths(request, settings):
    """Run a webhook test through the one-statement PostgreSQL path and the ORM path."""
    settings.INGEST_FAST_PATH = request.param == "fast path"
    return request.param
