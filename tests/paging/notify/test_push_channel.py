"""Push notifications through a fake push service that checks VAPID and decrypts (RFC 8291)."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from paging.models import ContactMethod, Notification, NotificationRule, PushSubscription
from tests.conftest import client_for
from tests.fakes.push import Browser, FakePushService
from tests.paging.notify.conftest import ALICE_PHONE, page
from tests.paging.notify.test_delivery import retry_until_done
from tests.paging.test_escalation_engine import timeline

pytestmark = pytest.mark.django_db


def push_method(
    user, fake: FakePushService, *, verified: bool = True
) -> tuple[ContactMethod, Browser]:
    """Give `user` a push contact method subscribed at the fake; return it and its browser."""
    browser = fake.subscribe()
    info = browser.subscription()
    method = ContactMethod.objects.create(
        user=user, kind="push", address=f"phone {browser.id}", name="phone", verified=verified
    )
    PushSubscription.objects.create(
        contact_method=method, endpoint=info["endpoint"], **info["keys"]
    )
    return method, browser


@pytest.fixture
def push_then_sms(alice, push_service):
    """Alice's rules: push at once, SMS five minutes later."""
    method, browser = push_method(alice, push_service)
    NotificationRule.objects.create(user=alice, contact_method=method)
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(minutes=5))
    return browser


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_page_reaches_the_push_service_encrypted_with_the_summary_and_actions(
    push_then_sms, push_service, payments, settings
):
    incident = page(payments, "Disk full on db1")

    (push,) = push_service.wait_for(1)
    assert push.browser_id == push_then_sms.id
    assert push.data["body"] == "Disk full on db1"
    assert push.data["incident"] == incident.pk
    assert push.data["title"] == f"#{incident.pk} CRITICAL payments"
    assert push.data["url"] == f"{settings.PUBLIC_URL}/incidents/{incident.pk}/"
    assert set(push.data["actions"]) == {"ack", "resolve"}
    for url in push.data["actions"].values():
        assert url.startswith(f"{settings.PUBLIC_URL}/push/act/")
    assert push.vapid_claims["aud"] == push_service.origin
    assert push.vapid_claims["sub"] == "mailto:oncall@example.com"
    assert push.urgency == "high" and push.ttl > 0
    notification = Notification.objects.get(kind="push")
    assert (notification.status, notification.provider_status) == ("sent", "accepted")
    assert "Push notification delivered to Alice Adams's push service" in timeline(incident)


def test_the_acknowledge_action_acknowledges_via_push_once(
    push_then_sms, push_service, payments, client
):
    incident = page(payments)
    (push,) = push_service.wait_for(1)
    ack = path_of(push.data["actions"]["ack"])

    confirm = client.get(ack)
    assert confirm.status_code == 200 and b"Acknowledge incident" in confirm.content
    incident.refresh_from_db()
    assert incident.status == "triggered"  # a GET changes nothing

    done = client.post(ack, HTTP_ACCEPT="application/json")

    assert done.status_code == 200
    assert done.json()["message"] == f"Incident #{incident.pk} acknowledged by Alice Adams."
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_via) == ("acknowledged", "push")
    assert any("via push" in line for line in timeline(incident))
    again = client.post(ack)
    assert again.status_code == 410
    assert b"already used" in again.content


def test_an_expired_action_link_is_refused_in_words(push_then_sms, push_service, payments, client):
    incident = page(payments)
    (push,) = push_service.wait_for(1)
    resolve = path_of(push.data["actions"]["resolve"])

    with time_machine.travel(timezone.now() + dt.timedelta(hours=5)):
        answer = client.post(resolve, HTTP_ACCEPT="application/json")

    assert answer.status_code == 410
    assert answer.json()["message"].startswith("This link has expired (links work for 4 hours)")
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_a_forged_action_link_is_refused(client, db):
    answer = client.post("/push/act/not-a-token/")

    assert answer.status_code == 410
    assert b"This link is not valid." in answer.content


def test_a_deactivated_person_cannot_act_through_their_push_link(
    push_then_sms, push_service, payments, client, alice
):
    incident = page(payments)
    (push,) = push_service.wait_for(1)
    alice.is_active = False
    alice.save()

    answer = client.post(path_of(push.data["actions"]["ack"]))

    assert answer.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_removed_and_the_sms_goes_out_at_once(
    push_then_sms, push_service, payments, webhooks, status
):
    push_service.fail_next(status)

    incident = page(payments)

    assert not ContactMethod.objects.filter(kind="push").exists()
    assert not PushSubscription.objects.exists()
    assert Notification.objects.get(kind="push").status == "failed"
    (sms,) = webhooks.messages
    assert sms.to == ALICE_PHONE
    entry = next(line for line in timeline(incident) if line.startswith("Push notification to"))
    assert f"answered {status}: the subscription has expired; the device was removed" in entry
    assert "SMS to Alice Adams goes out now instead of at" in entry


def test_throttling_and_server_errors_are_retried(push_then_sms, push_service, payments):
    push_service.fail_next(429, 500)

    page(payments)
    notification = Notification.objects.get(kind="push")

    assert notification.status == "pending" and "answered 429" in notification.error
    assert retry_until_done(notification) == ["failed", "sent"]
    assert len(push_service.pushes) == 1 and push_service.attempts == 3
    assert ContactMethod.objects.filter(kind="push").exists()


def test_an_unreachable_push_service_is_retried(push_then_sms, push_service, payments, settings):
    PushSubscription.objects.update(endpoint="http://127.0.0.1:9/push/nowhere")

    page(payments)

    notification = Notification.objects.get(kind="push")
    assert notification.status == "pending"
    assert notification.error == "push service 127.0.0.1: could not connect"


def test_a_push_endpoint_on_a_private_address_is_refused_by_the_guard(
    push_then_sms, push_service, payments, webhooks, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    incident = page(payments)

    assert push_service.attempts == 0
    assert Notification.objects.get(kind="push").status == "failed"
    assert "refused: private address" in timeline(incident)[-2]
    assert len(webhooks.messages) == 1  # the SMS went out instead


def test_an_unverified_push_device_is_not_paged(alice, push_service, payments):
    method, _ = push_method(alice, push_service, verified=False)
    NotificationRule.objects.create(user=alice, contact_method=method)
    NotificationRule.objects.create(
        user=alice, contact_method=alice.contact_methods.get(kind="sms")
    )

    incident = page(payments)

    assert push_service.attempts == 0
    assert "Alice Adams not paged by Push notification (phone): not verified yet" in timeline(
        incident
    )


def test_people_without_rules_get_their_push_devices_at_once(alice, push_service, payments):
    push_method(alice, push_service)

    page(payments)

    push_service.wait_for(1)
    assert set(Notification.objects.values_list("kind", flat=True)) == {"sms", "push"}


def test_push_without_a_vapid_key_fails_over_to_the_next_method(
    push_then_sms, push_service, payments, webhooks, settings
):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""

    incident = page(payments)

    assert push_service.attempts == 0
    assert "push is not configured: WEBPUSH_VAPID_PRIVATE_KEY is not set" in timeline(incident)[-2]
    assert len(webhooks.messages) == 1


def check_errors() -> str:
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--database", "default", "--fail-level", "ERROR")
    return str(raised.value)


def test_push_methods_without_a_vapid_key_are_a_check_error(alice, push_service, settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    settings.PAGING_CONSOLE_CHANNELS = True
    push_method(alice, push_service)

    errors = check_errors()

    assert (
        "(paging.E003) push notifications cannot be sent: WEBPUSH_VAPID_PRIVATE_KEY is not set"
        in errors
    )


def test_a_bad_vapid_key_is_a_check_error_that_never_shows_the_key(db, settings):
    secret = "c2VjcmV0LWtleS10aGF0LWlzLW5vdC1hLWtleQ"
    settings.WEBPUSH_VAPID_PRIVATE_KEY = secret
    settings.WEBPUSH_VAPID_SUBJECT = "ops@example.com"
    settings.PAGING_CONSOLE_CHANNELS = True

    errors = check_errors()

    assert "WEBPUSH_VAPID_PRIVATE_KEY is not a readable private key (PEM or base64url)" in errors
    assert "WEBPUSH_VAPID_SUBJECT must be a mailto: or https: URL" in errors
    assert secret not in errors


def test_a_good_vapid_setup_passes_the_checks(push_service, settings):
    settings.PAGING_CONSOLE_CHANNELS = True

    call_command("check", "--database", "default", "--fail-level", "ERROR")


def test_a_push_rule_is_made_through_the_api_like_any_other(alice, push_service, payments):
    method, _ = push_method(alice, push_service)

    answer = client_for(alice).post(
        "/api/v1/notification-rules/",
        {"user": alice.pk, "contact_method": method.pk, "delay": "00:00:00"},
        format="json",
    )

    assert answer.status_code == 201
    page(payments)
    assert Notification.objects.get().kind == "push"  # her only rule: SMS is not used
    push_service.wait_for(1)


def test_a_push_device_cannot_be_typed_in_through_the_api(alice, push_service):
    answer = client_for(alice).post(
        "/api/v1/contact-methods/",
        {"user": alice.pk, "kind": "push", "address": "https://push.example/1"},
        format="json",
    )

    assert answer.status_code == 400
    assert "Turn on push on this device" in str(answer.json()["kind"])
    assert not ContactMethod.objects.filter(kind="push").exists()
