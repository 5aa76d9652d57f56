"""Turning on push: the manifest, the service worker, and storing a browser's subscription."""

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from paging.models import ContactMethod, PushSubscription

pytestmark = pytest.mark.django_db


def post_subscription(client, body: object):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/me/push/", data, content_type="application/json")


@pytest.fixture
def signed_in(client, rita):
    client.force_login(rita)
    return client


def test_the_manifest_makes_the_app_installable(client, db):
    answer = client.get("/manifest.webmanifest")

    assert answer["Content-Type"] == "application/manifest+json"
    data = answer.json()
    assert (data["start_url"], data["display"], data["name"]) == ("/", "standalone", "On call")
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert sizes == {"192x192", "512x512"}
    for icon in data["icons"]:
        found = finders.find(icon["src"].removeprefix(settings.STATIC_URL))
        assert found and Path(found).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", icon


def test_the_service_worker_is_served_from_the_root_scope(client, db):
    answer = client.get("/sw.js")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert answer["Service-Worker-Allowed"] == "/"
    body = b"".join(answer.streaming_content) if answer.streaming else answer.content
    assert b"showNotification" in body and b"notificationclick" in body


def test_the_push_page_offers_the_button_with_the_vapid_public_key(signed_in, push_service):
    page = signed_in.get("/me/push/").content.decode()

    assert "Turn on push on this device" in page
    assert 'data-key="B' in page  # an uncompressed P-256 point, base64url: 0x04 → "B"
    assert "/static/web/push.js" in page


def test_a_subscription_is_stored_unverified_and_confirmed_by_its_test_push(
    signed_in, push_service, rita
):
    browser = push_service.subscribe()

    answer = post_subscription(signed_in, {"subscription": browser.subscription(), "name": "Pixel"})

    assert answer.status_code == 200
    assert answer.json()["message"].startswith("Sent a test push: tap Confirm")
    method = ContactMethod.objects.get(user=rita, kind="push")
    assert (method.name, method.verified) == ("Pixel", False)
    assert method.push_subscription.endpoint == browser.endpoint
    (push,) = push_service.wait_for(1)
    assert push.data["kind"] == "confirm"
    confirm = urlsplit(push.data["actions"]["confirm"]).path

    done = signed_in.post(confirm, HTTP_ACCEPT="application/json")

    assert done.status_code == 200
    method.refresh_from_db()
    assert method.verified
    assert signed_in.post(confirm).status_code == 410  # used


GOOD_KEY = "B" + "A" * 86  # 65 bytes, starting 0x04: the shape of a P-256 public key
GOOD_AUTH = "A" * 22  # 16 bytes


def subscription(**changes) -> dict:
    info = {"endpoint": "https://push.example/1", "keys": {"p256dh": GOOD_KEY, "auth": GOOD_AUTH}}
    return {"subscription": {**info, **changes}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "subscription"),
        ({"name": "Pixel"}, "subscription"),
        (subscription(endpoint=None), "endpoint"),
        (subscription(endpoint="ftp://push.example/1"), "endpoint"),
        (subscription(endpoint="https://push.example/" + "x" * 2048), "endpoint"),
        (subscription(keys=None), "keys"),
        (subscription(keys={"p256dh": "bm9wZQ", "auth": GOOD_AUTH}), "keys.p256dh"),
        (subscription(keys={"p256dh": GOOD_KEY}), "keys.auth"),
        ({**subscription(), "name": 5}, "name"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(signed_in, push_service, body, field):
    answer = post_subscription(signed_in, body)

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == [field]
    assert not ContactMethod.objects.filter(kind="push").exists()


def test_a_short_auth_secret_is_refused_in_words(signed_in, push_service):
    info = push_service.subscribe().subscription()
    info["keys"]["auth"] = "c2hvcnQ"

    answer = post_subscription(signed_in, {"subscription": info})

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"keys.auth": ["Must be a secret of 16 bytes."]}
    assert not PushSubscription.objects.exists()


def test_turning_on_push_needs_a_signed_in_person_and_a_csrf_token(client, rita, push_service):
    info = push_service.subscribe().subscription()

    anonymous = post_subscription(client, {"subscription": info})
    assert anonymous.status_code == 302

    checked = type(client)(enforce_csrf_checks=True)
    checked.force_login(rita)
    assert post_subscription(checked, {"subscription": info}).status_code == 403
    assert not ContactMethod.objects.filter(kind="push").exists()


def test_without_vapid_settings_push_cannot_be_turned_on(signed_in, push_service, settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""

    assert "not set up on this server" in signed_in.get("/me/push/").content.decode()
    answer = post_subscription(signed_in, {"subscription": push_service.subscribe().subscription()})
    assert answer.status_code == 409
    assert "push" in answer.json()["errors"]
