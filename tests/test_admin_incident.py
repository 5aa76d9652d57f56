"""The incident page and list in admin: act from the page, read where escalation stands."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident
from tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _open(service, summary: str = "Disk full") -> Incident:
    """Open an incident on the service as a webhook would, and page its first level."""
    integration = IntegrationFactory(service=service)
    event = Event(action="trigger", summary=summary, details={"host": "db1"})
    incident = alert_ingest(integration=integration, event=event, payload={})
    incident_escalate(incident.pk)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def incident(payments):
    return _open(payments)


def _exhaust(incident: Incident) -> None:
    """Let every level's timeout pass with nobody acknowledging."""
    now = timezone.now()
    for minutes in (2, 4, 6):
        with time_machine.travel(now + dt.timedelta(minutes=minutes), tick=False):
            incident_escalate(incident.pk)
    incident.refresh_from_db()


def _page(client, incident: Incident) -> str:
    return client.get(reverse("admin:paging_incident_change", args=[incident.pk])).content.decode()


def _act(client, incident: Incident, what: str):
    url = reverse("admin:paging_incident_change", args=[incident.pk])
    return client.post(url, {"_incident_action": what}, follow=True)


def _buttons(page: str) -> list[str]:
    return re.findall(r'<button[^>]*name="_incident_action"[^>]*value="(\w+)"', page)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- 1. Acting from the page ----------------------------------------------------------------


def test_triggered_incident_page_offers_acknowledge_resolve_and_escalate(admin_client, incident):
    page = _page(admin_client, incident)

    assert _buttons(page) == ["acknowledge", "resolve", "escalate"]
    assert "csrfmiddlewaretoken" in page.split('name="_incident_action"')[0]
    assert "Disk full" in _text(page)


def test_acknowledge_button_acknowledges_and_the_page_says_who(admin_client, incident):
    response = _act(admin_client, incident, "acknowledge")

    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    text = _text(response.content.decode())
    assert f"#{incident.pk} acknowledged." in text
    assert "Acknowledged by root via admin" in text
    assert _buttons(response.content.decode()) == ["resolve", "escalate"]


def test_resolve_button_resolves_and_then_no_button_is_offered(admin_client, incident):
    response = _act(admin_client, incident, "resolve")

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert _buttons(response.content.decode()) == []


def test_a_refused_action_says_why_in_words_and_changes_nothing(admin_client, incident):
    _act(admin_client, incident, "resolve")

    response = _act(admin_client, incident, "acknowledge")

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert (
        "Not acknowledged: the incident is resolved; only a triggered one can be acknowledged"
        in _text(response.content.decode())
    )


def test_escalating_again_too_soon_says_when_to_try_again(admin_client, incident, settings):
    settings.PAGING_MANUAL_ESCALATION_INTERVAL = dt.timedelta(minutes=5)
    _act(admin_client, incident, "escalate")

    response = _act(admin_client, incident, "escalate")

    text = _text(response.content.decode())
    assert "Not escalated: it was escalated by hand less than 5 minutes ago" in text
    assert incident.timeline.filter(kind="escalated", actor__username="root").count() == 1


def test_exhausted_incident_says_so_plainly(admin_client, incident):
    _exhaust(incident)

    assert "Escalation exhausted: nobody acknowledged" in _text(_page(admin_client, incident))


def test_details_are_a_table_and_only_web_links_are_links(admin_client, incident):
    Incident.objects.filter(pk=incident.pk).update(
        links=[
            {"href": "https://grafana.example/d/1", "text": "Dashboard"},
            {"href": "javascript:alert(1)", "text": "Trap"},
        ]
    )

    page = _page(admin_client, incident)

    assert re.search(r"<th[^>]*>host</th>\s*<td[^>]*>db1</td>", page)
    assert '<a href="https://grafana.example/d/1"' in page
    assert "javascript:" not in page.split('id="incident-links"')[1].split("</ul>")[0]
    assert "Trap" in _text(page)


def test_incident_page_has_no_save_buttons_and_a_save_changes_nothing(admin_client, incident):
    page = _page(admin_client, incident)
    url = reverse("admin:paging_incident_change", args=[incident.pk])

    response = admin_client.post(url, {"summary": "Changed", "_save": "Save"}, follow=True)

    assert 'name="_save"' not in page and 'name="_continue"' not in page
    incident.refresh_from_db()
    assert incident.summary == "Disk full"
    assert "read-only" in _text(response.content.decode())


# --- 2. The list ----------------------------------------------------------------------------


def test_incident_list_filters_exhausted_incidents(admin_client, payments):
    exhausted = _open(payments, "Nobody came")
    _exhaust(exhausted)
    _open(payments, "Still escalating")

    page = admin_client.get(reverse("admin:paging_incident_changelist"), {"state": "exhausted"})

    text = _text(page.content.decode())
    assert "Nobody came" in text and "Still escalating" not in text


def test_incident_list_shows_the_level_of_how_many_and_the_loop(admin_client, incident):
    page = admin_client.get(reverse("admin:paging_incident_changelist"))

    text = _text(page.content.decode())
    assert "Level 1 of 2, loop 1" in text
    assert "payments" in text


def test_incident_list_shows_status_before_the_summary(admin_client, incident):
    page = admin_client.get(reverse("admin:paging_incident_changelist")).content.decode()

    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert headers.index("state") < headers.index("summary")


# --- 3. Timeline and notifications ------------------------------------------------------------


def test_notifications_show_the_masked_address_channel_and_outcome(admin_client, incident):
    text = _text(_page(admin_client, incident))

    notes = text.split("Notifications", 1)[1]
    assert "+15***01" in notes and "+15550100001" not in text
    assert "SMS" in notes
    assert "pending" in notes


def test_timeline_follows_the_summary_newest_last_with_times(admin_client, incident):
    _act(admin_client, incident, "acknowledge")

    text = _text(_page(admin_client, incident))

    after_summary = text.split("Timeline", 1)[1]
    assert after_summary.index("Level 1 paged") < after_summary.index("Acknowledged by root")
    assert after_summary.index("Acknowledged by root") < after_summary.index("Notifications")
    assert re.search(r"\d\d:\d\d:\d\d UTC Acknowledged by root", after_summary)
    assert text.index("Timeline") < text.index("Details")


def test_staff_who_may_only_view_incidents_get_no_buttons_and_cannot_act(client, incident):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)

    page = _page(client, incident)
    response = _act(client, incident, "acknowledge")

    assert "Disk full" in _text(page) and _buttons(page) == []
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"
