"""An admin in New York adds an override to a Berlin schedule and sees it at Berlin's hours."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from schedules.models import Override, Schedule
from tests.browser.conftest import make_root, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def root(settings):
    """Root, whose own zone is New York's: the form must still read the schedule's zone."""
    return make_root(settings, time_zone="America/New_York")


def test_override_added_in_the_schedules_zone_shows_at_that_local_hour(page, root):
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    UserFactory(username="bob", first_name="Bob", last_name="Brown")
    day = (dt.datetime.now(BERLIN) + dt.timedelta(days=2)).date()
    nine = dt.datetime.combine(day, dt.time(9), tzinfo=BERLIN)
    browser = page.page
    browser.set_viewport_size({"width": 1366, "height": 900})
    sign_in(browser)

    browser.goto("/admin/schedules/override/add/")
    expect(browser.locator(".help", has_text="in the schedule's time zone").first).to_be_visible()
    browser.select_option("#id_schedule", str(schedule.pk))
    browser.click(".field-user .select2-selection")
    browser.fill(".select2-search__field", "bob")
    browser.locator(".select2-results__option", has_text="Bob").click()
    for name, clock in (("start", "09:00"), ("end", "17:00")):
        browser.fill(f"#id_{name}_0", f"{day:%Y-%m-%d}")
        browser.fill(f"#id_{name}_1", clock)
    browser.click("input[name=_continue]")

    # The change page reads back Berlin's 09:00, says so, and gives the UTC instant.
    expect(browser.locator("#id_start_1")).to_have_value("09:00:00")
    expect(browser.locator(".help", has_text="in Europe/Berlin").first).to_be_visible()
    utc = nine.astimezone(dt.UTC)
    expect(browser.locator(".field-override_in_utc")).to_contain_text(f"{utc:%H:%M} UTC")
    assert Override.objects.get().start == nine

    # The schedule's picture and its override row show the same local hour, with the zone.
    browser.goto(f"/admin/schedules/schedule/{schedule.pk}/change/")
    override_bar = browser.locator("rect.bar.override title").first
    expect(override_bar).to_contain_text(
        f"Bob Brown (override): {nine:%a} {nine.day} {nine:%b} 09:00 {nine:%Z}"
    )
    expect(browser.locator("#id_overrides-0-start_1")).to_have_value("09:00:00")
    assert page.problems == []
