"""A responder on a phone: signs in, acknowledges what paged them in one tap (and Level 2 is
never paged), and watches an incident page follow a change made elsewhere."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from paging.actions import incident_acknowledge
from paging.engine import incident_escalate, sweep
from paging.models import Notification
from paging.notify.delivery import notification_deliver
from tests.browser.conftest import (
    screenshot,
    scrolls_sideways,
    sign_in_app,
    small_targets,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_responder_signs_in_on_a_phone_and_acknowledges_in_one_tap(phone, incident, twilio):
    for pk in Notification.objects.filter(incident=incident).values_list("pk", flat=True):
        notification_deliver(pk)
    (level_1,) = twilio.wait_for_messages(1)
    incident.refresh_from_db()
    level_2_due = incident.escalation_due_at
    assert level_1.to == incident.notifications.get().address
    assert "Checkout error rate above 5%" in level_1.body
    page = phone.page
    sign_in_app(page)

    row = page.locator(f"#incident-{incident.pk}")
    expect(row).to_contain_text("Checkout error rate above 5%")
    expect(row.locator(".status")).to_have_text("triggered")
    expect(page.locator("main")).to_contain_text("Payments primary Rita Reyes")
    expect(page.locator("main")).to_contain_text("On call now in Payments primary, until")
    assert not scrolls_sideways(page)
    assert small_targets(page) == []
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
    sign_in_app(page)
    page.goto(f"/incidents/{incident.pk}/")
    expect(page.locator("#incident-status")).to_have_text("triggered")
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    assert not scrolls_sideways(page)
    page.evaluate("window.notReloaded = true")

    incident_acknowledge(incident=incident, by=rita, via="SMS reply")

    expect(page.locator("#incident-status")).to_have_text("acknowledged", timeout=5_000)
    expect(page.locator(".timeline")).to_contain_text("Acknowledged by Rita Reyes via SMS reply")
    assert page.evaluate("window.notReloaded === true")
    assert not scrolls_sideways(page)
    assert phone.problems == []
    screenshot(page, "web-incident", full_page=True)


def test_on_a_phone_the_four_places_and_sign_out_share_one_row(phone, rita):
    page = phone.page
    sign_in_app(page)

    tops = page.evaluate(
        """() => [...document.querySelectorAll('.bar nav a, .bar .signout button')]
            .map(e => Math.round(e.getBoundingClientRect().top))"""
    )
    heights = page.evaluate(
        "() => [...document.querySelectorAll('.bar .signout button')]"
        ".map(e => Math.round(e.getBoundingClientRect().height))"
    )

    assert len(tops) == 5 and len(set(tops)) == 1, tops
    assert heights == [44], heights  # "Sign out" on one line, still a full tap target
