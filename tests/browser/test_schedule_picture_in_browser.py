"""Build a rotation in admin, in a real browser, and see the schedule's picture."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from schedules.models import Schedule
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def choose_person(page, row: str, search: str, name: str) -> None:
    """Pick `name` in the autocomplete box of inline row `row`, typing `search`."""
    page.locator(f"#{row} .select2-selection").click()
    page.locator(".select2-search__field").fill(search)
    page.locator(".select2-results__option", has_text=name).click()


def add_row(page, group: str) -> None:
    page.locator(f"#{group}-group .add-row a").click()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.usefixtures("root", "alice", "bob")
def test_a_two_person_weekday_rotation_built_in_admin_shows_in_the_picture(page):
    browser = page.page
    browser.set_viewport_size({"width": 1366, "height": 900})
    sign_in(browser)
    browser.goto("/admin/schedules/schedule/add/")
    browser.fill("#id_name", "Primary")
    browser.fill("#id_time_zone", "Europe/Berlin")
    browser.click("input[name=_continue]")
    schedule = Schedule.objects.get(name="Primary")

    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    monday = today - dt.timedelta(days=today.weekday())
    browser.goto(f"/admin/schedules/layer/add/?schedule={schedule.pk}")
    browser.fill("#id_name", "Weekdays")
    browser.fill("#id_handoff_date", monday.isoformat())
    browser.fill("#id_handoff_time", "09:00")
    add_row(browser, "members")
    choose_person(browser, "members-0", "alice", "Alice Adams")
    add_row(browser, "members")
    choose_person(browser, "members-1", "bob", "Bob Brown")
    browser.fill("#id_members-1-position", "1")
    add_row(browser, "restrictions")
    browser.select_option("#id_restrictions-0-kind", "weekly")
    browser.select_option("#id_restrictions-0-start_day", "0")
    browser.fill("#id_restrictions-0-start_time", "09:00")
    browser.select_option("#id_restrictions-0-end_day", "4")
    browser.fill("#id_restrictions-0-end_time", "17:00")
    browser.click("input[name=_save]")
    expect(browser.locator(".messagelist")).to_contain_text("was added successfully")

    browser.goto(f"/admin/schedules/schedule/{schedule.pk}/change/")
    expect(browser.locator(".layer")).to_contain_text("1. Alice Adams, 2. Bob Brown")
    expect(browser.locator(".layer")).to_contain_text("Mon 09:00 → Fri 17:00")
    assert no_horizontal_scroll(browser)

    browser.goto(f"/admin/schedules/schedule/{schedule.pk}/picture/")
    picture = browser.locator(".schedule-picture")
    expect(picture.locator(".picture-label")).to_have_text(["", "Weekdays", "Who is paged"])
    expect(picture.locator(".picture-legend")).to_contain_text("Alice Adams")
    expect(picture.locator(".picture-legend")).to_contain_text("Bob Brown")
    expect(picture).to_contain_text("(times in Europe/Berlin)")
    # Weekends are gaps: nobody is paged then.
    assert picture.locator(".picture-row.final .bar.gap").count() >= 2
    assert no_horizontal_scroll(browser)
    screenshot(browser, "schedule-picture", full_page=True)
    assert page.problems == []
