"""Admin for policies (levels inline, validation, test page) and escalation on incidents."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import default_team_id
from escalation.models import EscalationPolicy, Tier
from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident, Notification
from paging.notify.delivery import notification_deliver
from tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:escalation_escalationpolicy_add")


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def policy_form(name: str, levels: list[dict]) -> dict:
    data = {
        "name": name,
        "team": default_team_id(),
        "description": "",
        "repeat": "1",
        "tiers-TOTAL_FORMS": str(len(levels)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "1",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    for n, level in enumerate(levels):
        data |= {f"tiers-{n}-{key}": value for key, value in level.items()}
    return data


def errors(response) -> str:
    return response.content.decode()


def test_policy_is_created_with_ordered_levels_and_bare_minute_timeouts(admin_client, alice, bob):
    levels = [
        {"position": "2", "ack_timeout": "2", "users": [bob.pk]},
        {"position": "1", "ack_timeout": "0.5", "users": [alice.pk]},
    ]

    response = admin_client.post(ADD, policy_form("Payments", levels))

    assert response.status_code == 302
    policy = EscalationPolicy.objects.get(name="Payments")
    tiers = list(policy.tiers.all())
    assert [(t.position, t.ack_timeout) for t in tiers] == [
        (0, dt.timedelta(seconds=30)),
        (1, dt.timedelta(minutes=2)),
    ]
    assert [list(t.users.all()) for t in tiers] == [[alice], [bob]]
    assert str(tiers[0]) == "Payments: Level 1"


def test_policy_without_levels_is_refused(admin_client):
    response = admin_client.post(ADD, policy_form("Empty", []))

    assert response.status_code == 200
    assert "A policy needs at least one level." in errors(response)
    assert not EscalationPolicy.objects.exists()


def test_level_without_targets_is_refused(admin_client, alice):
    levels = [{"position": "1", "ack_timeout": "5", "users": [alice.pk]}, {"ack_timeout": "5"}]

    response = admin_client.post(ADD, policy_form("Half", levels))

    message = "Each level needs someone to page: add a person, a schedule or a team."
    assert message in errors(response)
    assert not EscalationPolicy.objects.exists()


@pytest.mark.parametrize("timeout", ["0", "0s"])
def test_timeout_must_be_positive(admin_client, alice, timeout):
    levels = [{"position": "1", "ack_timeout": timeout, "users": [alice.pk]}]

    response = admin_client.post(ADD, policy_form("Zero", levels))

    assert "The timeout must be more than 0 (at least 1 second)." in errors(response)
    assert not EscalationPolicy.objects.exists()


def test_policy_page_shows_level_timeouts_as_written_durations(admin_client, payments):
    policy = payments.escalation_policy
    url = reverse("admin:escalation_escalationpolicy_change", args=[policy.pk])

    page = admin_client.get(url).content.decode()

    assert 'name="tiers-0-ack_timeout" value="1m"' in page


def test_test_page_action_pages_the_person_with_a_marked_message(admin_client, twilio, payments):
    alice = payments.escalation_policy.tiers.first().users.get()
    url = reverse("admin:escalation_escalationpolicy_changelist")
    chosen = {"action": "test_page", "_selected_action": [payments.escalation_policy.pk]}

    form = admin_client.post(url, chosen)
    assert "Send the test page" in form.content.decode()
    done = admin_client.post(url, chosen | {"person": alice.pk}, follow=True)

    incident = Incident.objects.get(service__name="Test pages")
    assert f"Test page sent to Alice Adams as incident #{incident.pk}." in done.content.decode()
    (notification,) = Notification.objects.filter(incident=incident)
    assert notification_deliver(notification.pk) == "sent"
    (sms,) = twilio.messages
    assert sms.to == "+15550100001"
    assert "TEST PAGE for Alice Adams from root: no action needed" in sms.body
    assert not Notification.objects.exclude(incident=incident).exists()  # nobody else


def test_test_page_offers_only_people_who_can_be_reached(admin_client, payments):
    UserFactory(username="ghost")
    url = reverse("admin:escalation_escalationpolicy_changelist")
    form = admin_client.post(
        url, {"action": "test_page", "_selected_action": [payments.escalation_policy.pk]}
    )

    assert "ghost" not in form.content.decode()


def test_test_page_does_not_offer_or_page_a_deactivated_person(admin_client, payments, bob):
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    url = reverse("admin:escalation_escalationpolicy_changelist")
    chosen = {"action": "test_page", "_selected_action": [payments.escalation_policy.pk]}

    form = admin_client.post(url, chosen)
    refused = admin_client.post(url, chosen | {"person": bob.pk})

    assert "Bob Brown" not in form.content.decode()
    assert "Select a valid choice" in refused.content.decode()
    assert not Incident.objects.filter(service__name="Test pages").exists()


def test_incident_page_shows_level_and_next_escalation_and_escalates(
    admin_client, twilio, payments
):
    integration = IntegrationFactory(service=payments)
    incident = alert_ingest(
        integration=integration, event=Event(action="trigger", summary="Disk full"), payload={}
    )
    incident_escalate(incident.pk)
    incident.refresh_from_db()

    page = admin_client.get(reverse("admin:paging_incident_change", args=[incident.pk]))
    assert "Level 1" in page.content.decode()
    assert "Level 1 paged: Alice Adams" in page.content.decode()

    admin_client.post(
        reverse("admin:paging_incident_changelist"),
        {"action": "escalate", "_selected_action": [incident.pk]},
    )
    for pk in incident_escalate(incident.pk):
        notification_deliver(pk)

    assert [m.to for m in twilio.messages] == ["+15550100002"]
    listing = admin_client.get(reverse("admin:paging_incident_changelist")).content.decode()
    assert "Level 2" in listing


def visible_text(html: str) -> str:
    """Return the words a person sees on a page: no tags, scripts or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_policy_page_names_levels_one_based_and_never_tiers_or_order(admin_client, payments):
    policy = payments.escalation_policy
    url = reverse("admin:escalation_escalationpolicy_change", args=[policy.pk])

    html = admin_client.get(url).content.decode()
    text = visible_text(html)

    assert "Level 1" in text and "Level 2" in text
    assert not re.search(r"\btiers?\b|\border\b", text, re.I), text
    assert 'name="tiers-0-position" value="1"' in html
    assert 'name="tiers-1-position" value="2"' in html


def test_api_error_about_a_level_names_it_one_based(client, alice):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    body = {"name": "p", "tiers": [{"ack_timeout": "00:05:00", "users": [alice.pk]}, {}]}

    response = client.post("/api/v1/escalation-policies/", body, content_type="application/json")

    assert response.status_code == 400
    assert "Level 2 needs at least one person, schedule or team" in response.content.decode()
    assert not EscalationPolicy.objects.exists()


def test_policy_list_counts_levels_in_one_query_for_all_rows(admin_client, alice):
    url = reverse("admin:escalation_escalationpolicy_changelist")

    def listing() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(url).content.decode()
        return page, len(queries)

    one = EscalationPolicy.objects.create(name="One")
    Tier.objects.create(policy=one)
    _, with_one = listing()
    three = EscalationPolicy.objects.create(name="Three")
    for position in range(3):
        Tier.objects.create(policy=three, position=position)
    EscalationPolicy.objects.create(name="None")
    page, with_three = listing()

    assert with_three == with_one
    assert re.search(r'field-levels">1<', page)
    assert re.search(r'field-levels">3<', page)
    assert re.search(r'field-levels">0<', page)
