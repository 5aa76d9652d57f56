"""Page e-mails through a real SMTP server, and their acknowledge / resolve links."""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Notification, NotificationRule
from tests.factories import IntegrationFactory
from tests.paging.notify.conftest import page
from tests.paging.test_escalation_engine import deactivate, run_due, timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def emails_alice(alice, alice_email):
    NotificationRule.objects.create(user=alice, contact_method=alice_email)


def parts(message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def links(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(Acknowledge|Resolve): +(\S+)", text, re.MULTILINE))


@pytest.fixture
def mailed(smtp, twilio, payments, emails_alice):
    """An incident with details and links, paged to Alice by e-mail; (incident, message)."""
    event = Event(
        action="trigger",
        summary="Disk full on db1",
        details={"host": "db1", "mount": "/var"},
        links=(
            {"href": "https://grafana.example/d/1", "text": "Dashboard"},
            {"href": "javascript:alert(1)", "text": "evil"},
        ),
    )
    integration = IntegrationFactory(service=payments)
    incident = alert_ingest(integration=integration, event=event, payload={})
    assert run_due(incident) == ["sent"]
    (message,) = smtp.messages
    return incident, message


def test_page_email_has_text_and_html_with_details_and_links(mailed):
    incident, message = mailed

    assert message["To"] == "alice@example.com"
    assert message["Subject"] == f"[CRITICAL] #{incident.pk} payments: Disk full on db1"
    body = parts(message)
    text, html = body["text/plain"], body["text/html"]
    assert "Disk full on db1" in text and "host: db1" in text
    assert "Link: Dashboard <https://grafana.example/d/1>" in text
    assert "javascript:" not in text and "javascript:" not in html
    assert set(links(text)) == {"Acknowledge", "Resolve"}
    for url in links(text).values():
        assert url.startswith("http://testserver/page/") and url in html
    assert "E-mail sent to Alice Adams" in timeline(incident)
    assert Notification.objects.get().provider_id in message["Message-ID"]


def test_summary_with_newline_reaches_email_contact(smtp, twilio, payments, emails_alice):
    incident = page(payments, "Disk full on db1\n/var at 99%\r\n\tsee runbook")

    (message,) = smtp.messages
    subject = f"[CRITICAL] #{incident.pk} payments: Disk full on db1 /var at 99% see runbook"
    assert message["Subject"] == subject
    assert "Disk full on db1\r\n/var at 99%" in parts(message)["text/plain"]  # the body keeps them
    assert Notification.objects.get().status == "sent"
    assert timeline(incident)[-1] == "E-mail sent to Alice Adams"


def test_mail_server_slower_in_all_than_email_timeout_is_cut_off_and_retried(
    slow_smtp, twilio, payments, emails_alice, settings
):
    settings.EMAIL_TIMEOUT = 1  # each answer comes within it, all of them do not

    incident = page(payments)

    assert slow_smtp.messages == []
    notification = Notification.objects.get()
    assert notification.status == "pending"
    assert notification.error.startswith("mail server unreachable")
    assert "E-mail sent to Alice Adams" not in timeline(incident)


def test_get_only_confirms_and_post_acknowledges(mailed, client, alice):
    incident, message = mailed
    url = links(parts(message)["text/plain"])["Acknowledge"]

    confirm = client.get(url)

    assert confirm.status_code == 200
    assert b"Acknowledge incident #" in confirm.content and b'method="post"' in confirm.content
    incident.refresh_from_db()
    assert incident.status == "triggered"

    done = client.post(url)

    assert done.status_code == 200
    assert f"Incident #{incident.pk} acknowledged by Alice Adams".encode() in done.content
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    assert timeline(incident)[-1] == "Acknowledged by Alice Adams via e-mail link"


def test_resolve_link_resolves_on_post(mailed, client):
    incident, message = mailed

    client.post(links(parts(message)["text/plain"])["Resolve"])

    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_expired_or_tampered_link_is_404_and_changes_nothing(mailed, client, settings):
    incident, message = mailed
    url = links(parts(message)["text/plain"])["Acknowledge"]

    with time_machine.travel(timezone.now() + dt.timedelta(days=1, seconds=1), tick=False):
        assert client.post(url).status_code == 404
    assert client.post(url[:-3] + "xyz/").status_code == 404
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_refused_address_fails_at_once_and_falls_over(smtp, twilio, payments, alice, alice_email):
    alice_email.address = "alice@nowhere.example"
    alice_email.save()
    NotificationRule.objects.create(user=alice, contact_method=alice_email)
    sms = alice.contact_methods.get(kind="sms")
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(minutes=3))

    incident = page(payments)

    assert Notification.objects.get(kind="email").status == "failed"
    assert smtp.messages == []
    assert len(twilio.messages) == 1
    assert (
        "E-mail to Alice Adams failed: mail server refused the address; SMS to Alice"
        in (timeline(incident)[-2])
    )


def test_deactivated_persons_link_acts_on_nothing(mailed, client, alice):
    incident, message = mailed
    url = links(parts(message)["text/plain"])["Resolve"]
    deactivate(alice)

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_acknowledge_link_to_an_acknowledged_incident_says_so_without_a_button(
    mailed, client, alice
):
    incident, message = mailed
    urls = links(parts(message)["text/plain"])
    client.post(urls["Acknowledge"])

    acknowledge = client.get(urls["Acknowledge"]).content.decode()
    resolve = client.get(urls["Resolve"]).content.decode()

    assert f"Incident #{incident.pk} is already acknowledged by Alice Adams" in acknowledge
    assert "<button" not in acknowledge
    assert "Resolve incident #" in resolve and "<button" in resolve


def test_links_to_a_resolved_incident_say_so_without_a_button(mailed, client):
    incident, message = mailed
    urls = links(parts(message)["text/plain"])
    client.post(urls["Resolve"])

    for url in urls.values():
        page = client.get(url).content.decode()

        assert f"Incident #{incident.pk} is already resolved" in page
        assert "<button" not in page
