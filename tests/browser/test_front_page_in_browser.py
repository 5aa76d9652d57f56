"""A person signs in and sees what matters now on the admin front page, on a desk and a phone."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from paging.models import Incident, Notification
from schedules.models import Layer, Schedule
from tests.browser.conftest import screenshot, sign_in
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def what_matters(alice):
    """An exhausted incident, Alice on call on "Primary", and a failed SMS to her."""
    service = ServiceFactory(name="payments")
    incident = Incident.objects.create(
        service=service, summary="Disk full on db1", escalation_tier=1, escalation_due_at=None
    )
    primary = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=primary, handoff_date="2020-01-06", shift_unit="weeks")
    layer.members.create(user=alice, position=0)
    Notification.objects.create(
        incident=incident,
        user=alice,
        tier=0,
        rule_key="sms",
        kind="sms",
        address="+15550100",
        due_at=incident.created_at,
        status="failed",
        error="Twilio 21610: unsubscribed recipient",
    )
    return incident


@pytest.mark.usefixtures("root")
def test_signed_in_admin_sees_what_matters_now_and_follows_each_part_to_its_list(
    page, what_matters
):
    User.objects.filter(username="root").update(time_zone="Europe/Berlin")
    browser_page = page.page
    browser_page.set_viewport_size({"width": 1366, "height": 900})

    browser_page.goto("/")
    expect(browser_page.locator("#id_username")).to_be_visible()
    sign_in(browser_page)

    front = browser_page.locator(".oncall-front")
    expect(front).to_contain_text("Exhausted: 1")
    expect(front).to_contain_text("Disk full on db1")
    expect(front.locator("tr", has_text="Primary")).to_contain_text("Alice Adams")
    expect(front).to_contain_text("1 in the last 24 hours")
    expect(front).to_contain_text("SMS to Alice Adams")
    expect(browser_page.locator("#content")).to_contain_text("Times in Europe/Berlin")
    screenshot(browser_page, "admin-front", full_page=True)

    front.get_by_role("link", name="Exhausted: 1").click()
    expect(browser_page.locator("#result_list")).to_contain_text("Disk full on db1")
    browser_page.go_back()
    front.get_by_role("link", name="1 in the last 24 hours").click()
    expect(browser_page.locator("#result_list")).to_contain_text("Failed")
    browser_page.go_back()
    front.get_by_role("link", name="All schedules").click()
    expect(browser_page.locator("#result_list")).to_contain_text("Primary")
    assert page.problems == []


@pytest.mark.usefixtures("root")
def test_on_a_phone_the_front_page_and_lists_fit_the_screen_width(page, what_matters):
    browser_page = page.page
    browser_page.set_viewport_size({"width": 390, "height": 844})
    sign_in(browser_page)

    for url, shows in [
        ("/admin/", "Disk full on db1"),
        ("/admin/paging/notification/", "Alice Adams"),
        (f"/admin/paging/incident/{what_matters.pk}/change/", "Disk full on db1"),
    ]:
        browser_page.goto(url)
        expect(browser_page.locator("#content")).to_contain_text(shows)
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert browser_page.evaluate("document.documentElement.scrollWidth") <= 390, url
    assert page.problems == []
