"""Two responders on phones: Rita covers part of Bob's shift and sees it in the picture, then
asks for cover of one of hers and Bob, in his own browser, accepts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Role, Team
from paging.tasks import handoff_notices
from schedules.models import CoverRequest, Layer, Override, Schedule
from schedules.picture import local_label
from schedules.resolver import shifts
from tests.browser.conftest import (
    PASSWORD,
    Watched,
    open_phone,
    screenshot,
    scrolls_sideways,
    small_targets,
)
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")
PHONES = {"rita": "+15550100001", "bob": "+15550100002"}


def responder(team: Team, username: str, first: str, last: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    user.time_zone = "Europe/Berlin"
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(team=team, user=user, role=Role.RESPONDER)
    ContactMethodFactory(user=user, address=PHONES[username])
    return user


@pytest.fixture
def team(settings):
    """Payments primary hands over every 6 hours between Bob and Rita (Berlin time)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team = Team.objects.create(name="Payments", slug="payments")
    bob = responder(team, "bob", "Bob", "Brown")
    rita = responder(team, "rita", "Rita", "Reyes")
    schedule = Schedule.objects.create(
        name="Payments primary", team=team, time_zone="Europe/Berlin"
    )
    layer = Layer.objects.create(
        schedule=schedule, shift_unit="hours", shift_count=6, handoff_date=dt.date(2026, 1, 1)
    )
    layer.members.create(user=bob, position=0)
    layer.members.create(user=rita, position=1)
    return schedule, rita, bob


def next_shift(schedule, person):
    """Return `person`'s first shift starting at least an hour from now."""
    start = timezone.now() + dt.timedelta(hours=1)
    begin, end = start - dt.timedelta(days=1), start + dt.timedelta(days=3)
    found = shifts(schedule.snapshot(begin, end), begin, end)
    return next(s for s in found if s.person == person.pk and s.start >= start)


def phone_of(browser, live_server) -> Watched:
    return open_phone(browser, live_server.url)[1]  # closed with the module's browser


def sign_in(page, username: str) -> None:
    page.goto("/login/?next=/schedules/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Schedules", exact=True)).to_be_visible()


def test_a_responder_covers_part_of_a_shift_then_asks_and_a_teammate_accepts(
    browser, live_server, twilio, team
):
    schedule, rita, bob = team
    bobs = next_shift(schedule, bob)
    part = (bobs.start + dt.timedelta(hours=2), bobs.start + dt.timedelta(hours=4))
    ritas = next_shift(schedule, rita)
    first, second = phone_of(browser, live_server), phone_of(browser, live_server)
    try:
        page = first.page
        sign_in(page, "rita")
        page.get_by_role("link", name="Payments primary").first.click()
        expect(page.locator(".picture-zone")).to_contain_text("On call now: ")
        begins = bobs.start.astimezone(BERLIN)
        row = page.locator(
            ".shifts li", has_text=f"{begins:%a} {begins.day} {begins:%b %H:%M} until"
        )
        expect(row).to_contain_text("Bob Brown")
        row.get_by_role("link", name="Cover").click()
        expect(page.get_by_text("Start (Europe/Berlin)")).to_be_visible()
        page.fill("#id_start", f"{part[0].astimezone(BERLIN):%Y-%m-%dT%H:%M}")
        page.fill("#id_end", f"{part[1].astimezone(BERLIN):%Y-%m-%dT%H:%M}")
        page.get_by_role("button", name="Cover", exact=True).click()

        expect(page.locator("#notice")).to_have_text(
            "You cover Bob Brown's shift in Payments primary."
        )
        title = f"Rita Reyes (override): {local_label(part[0], BERLIN)} to "
        expect(page.locator("svg[aria-label='Who is paged'] title", has_text=title)).to_have_count(
            1
        )
        assert not scrolls_sideways(page)
        assert small_targets(page) == []
        screenshot(page, "web-schedule")

        page.goto(
            f"/schedules/{schedule.pk}/ask/?start={ritas.start.isoformat()}&end="
            f"{ritas.end.isoformat()}".replace("+", "%2B")
        )
        page.get_by_role("button", name="Ask for cover", exact=True).click()
        expect(page.locator("#notice")).to_have_text(
            "You asked Payments to cover your shift in Payments primary."
        )

        other = second.page
        sign_in(other, "bob")
        asked = other.locator(".cover-request", has_text="Rita Reyes asks cover")
        asked.get_by_role("button", name="Accept").click()
        expect(other.locator("#notice")).to_have_text(
            "You cover Rita Reyes's shift in Payments primary; they are told."
        )
        assert not scrolls_sideways(other)
        assert first.problems == [] and second.problems == []
    finally:
        first.page.context.close()
        second.page.context.close()

    taken = Override.objects.get(user=bob)
    assert (taken.replaces, taken.start, taken.end) == (rita, ritas.start, ritas.end)
    assert CoverRequest.objects.get().status == "taken"
    handoff_notices()
    told = {(m.to, m.body.split(" shift")[0]) for m in twilio.messages}
    assert told == {
        (PHONES["bob"], "Rita Reyes covers your Payments primary"),
        (PHONES["rita"], "Bob Brown covers your Payments primary"),
        (PHONES["bob"], "You cover Rita Reyes's Payments primary"),
    }
