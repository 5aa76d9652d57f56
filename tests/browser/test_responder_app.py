"""A responder on a phone: signs in, acknowledges what paged them in one tap (and Level 2 is
never paged), and watches an incident page follow a change made elsewhere."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Role, Team
from paging.actions import incident_acknowledge
from paging.engine import incident_escalate, sweep
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Notification
from paging.notify.delivery import notification_deliver
from schedules.models import Layer, Schedule
from tests.browser.conftest import PASSWORD, Watched, screenshot
from tests.factories import (
    ContactMethodFactory,
    IntegrationFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    """Open a page the size of a phone, watched for errors and CSP violations."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def responder(team: Team, username: str, first: str, last: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    user.time_zone = "Europe/Berlin"
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(team=team, user=user, role=Role.RESPONDER)
    ContactMethodFactory(user=user)
    return user


@pytest.fixture
def rita(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team = Team.objects.create(name="Payments", slug="payments")
    rita = responder(team, "rita", "Rita", "Reyes")
    bob = responder(team, "bob", "Bob", "Brown")
    primary = Schedule.objects.create(name="Payments primary", team=team, time_zone="UTC")
    layer = Layer.objects.create(schedule=primary, handoff_date="2020-01-06", shift_unit="weeks")
    layer.members.create(user=rita, position=0)
    policy = PolicyFactory(levels=[[rita], [bob]], team=team)
    ServiceFactory(name="Checkout", team=team, escalation_policy=policy)
    return rita


@pytest.fixture
def incident(rita):
    """A critical Checkout incident that paged Rita at Level 1."""
    integration = IntegrationFactory(service=rita.memberships.get().team.services.get())
    event = Event(
        action="trigger",
        summary="Checkout error rate above 5%",
        details={"host": "web-3", "error_rate": "7.2%"},
        links=({"href": "https://grafana.example/d/checkout", "text": "Dashboard"},),
    )
    incident = alert_ingest(integration=integration, event=event, payload={"status": "firing"})
    incident_escalate(incident.pk)
    return incident


def sign_in(page) -> None:
    page.goto("/")
    assert page.url.endswith("/login/?next=/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Now", exact=True)).to_be_visible()


def _scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def _small_targets(page) -> list[str]:
    """Return the buttons and links in the main area shorter than 44 px (tap targets)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main button, main .button, nav a, main a.summary')]
            .filter(e => e.getBoundingClientRect().height < 44)
            .map(e => e.textContent.trim())"""
    )


def test_a_responder_signs_in_on_a_phone_and_acknowledges_in_one_tap(phone, incident, twilio):
    for pk in Notification.objects.filter(incident=incident).values_list("pk", flat=True):
        notification_deliver(pk)
    (level_1,) = twilio.wait_for_messages(1)
    incident.refresh_from_db()
    level_2_due = incident.escalation_due_at
    assert level_1.to == incident.notifications.get().address
    assert "Checkout error rate above 5%" in level_1.body
    page = phone.page
    sign_in(page)

    row = page.locator(f"#incident-{incident.pk}")
    expect(row).to_contain_text("Checkout error rate above 5%")
    expect(row.locator(".status")).to_have_text("triggered")
    expect(page.locator("main")).to_contain_text("Payments primary Rita Reyes")
    expect(page.locator("main")).to_contain_text("On call now in Payments primary, until")
    assert not _scrolls_sideways(page)
    assert _small_targets(page) == []
    screenshot(page, "web-now", full_page=True)
    page.evaluate("window.notReloaded = true")

    row.get_by_role("button", name="Acknowledge").click()

    expect(row.locator(".status")).to_have_text("acknowledged")
    expect(page.locator("#notice")).to_have_text(f"#{incident.pk} acknowledged.")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert page.evaluate("window.notReloaded === true")
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_via == "web"
    assert phone.problems == []

    # Level 1's timeout passes: the escalation step and the sweeper run, and Bob (Level 2)
    # is never paged.
    assert level_2_due > timezone.now()
    with time_machine.travel(level_2_due + dt.timedelta(minutes=5), tick=False):
        assert incident_escalate(incident.pk) == []
        sweep()
    assert not Notification.objects.filter(incident=incident, user__username="bob").exists()
    assert twilio.messages == [level_1]
    page.reload()
    expect(page.locator(f"#incident-{incident.pk} .status")).to_have_text("acknowledged")


def test_the_incident_page_shows_an_acknowledgement_made_elsewhere_within_5_seconds(
    phone, incident, rita
):
    page = phone.page
    sign_in(page)
    page.goto(f"/incidents/{incident.pk}/")
    expect(page.locator("#incident-status")).to_have_text("triggered")
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    assert not _scrolls_sideways(page)
    page.evaluate("window.notReloaded = true")

    incident_acknowledge(incident=incident, by=rita, via="SMS reply")

    expect(page.locator("#incident-status")).to_have_text("acknowledged", timeout=5_000)
    expect(page.locator(".timeline")).to_contain_text("Acknowledged by Rita Reyes via SMS reply")
    assert page.evaluate("window.notReloaded === true")
    assert not _scrolls_sideways(page)
    assert phone.problems == []
    screenshot(page, "web-incident", full_page=True)
