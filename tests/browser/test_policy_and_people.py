"""An admin builds a three-level policy and sends a person a test page, in a real browser."""

import pytest
from playwright.sync_api import expect

from escalation.models import EscalationPolicy
from paging.models import Incident
from tests.browser.conftest import sign_in
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("root")]

WIDE = {"width": 1366, "height": 900}


@pytest.fixture
def people():
    """Three people who can be paged, one per level."""
    found = []
    for n, (first, last) in enumerate((("Alice", "Adams"), ("Bob", "Brown"), ("Cleo", "Cruz"))):
        person = UserFactory(username=first.lower(), first_name=first, last_name=last)
        ContactMethodFactory(user=person, address=f"+1555010000{n + 1}")
        found.append(person)
    return found


def test_admin_builds_a_three_level_policy_that_reads_level_1_2_3_and_stays_compact(page, people):
    p = page.page
    p.set_viewport_size(WIDE)
    sign_in(p)
    p.goto("/admin/escalation/escalationpolicy/add/")

    p.fill("#id_name", "Payments")
    for n, person in enumerate(people):
        if n:
            p.get_by_text("Add another Level").click()
        p.fill(f"input[name=tiers-{n}-ack_timeout]", "5m")
        p.select_option(f"select[name=tiers-{n}-users]", str(person.pk))
    p.click("input[name=_continue]")

    expect(p.locator(".messagelist")).to_contain_text("was added successfully")
    rows = p.locator("#tiers-group tr.has_original")
    expect(rows).to_have_count(3)
    for n in range(3):
        expect(rows.nth(n)).to_contain_text(f"Payments: Level {n + 1}")
        expect(rows.nth(n).locator("input[name$=-position]")).to_have_value(str(n + 1))
    expect(p.locator("#tiers-group")).not_to_contain_text("Tier")
    assert p.evaluate("document.documentElement.scrollHeight") <= 1500
    assert p.evaluate("document.documentElement.scrollWidth") <= WIDE["width"]
    tiers = EscalationPolicy.objects.get(name="Payments").tiers.all()
    assert [list(t.users.all()) for t in tiers] == [[person] for person in people]
    assert page.problems == []


def test_admin_sends_a_test_page_from_the_people_list_and_reads_what_was_sent(page, people):
    p = page.page
    p.set_viewport_size(WIDE)
    sign_in(p)
    p.goto("/admin/accounts/user/")

    alice = people[0]
    p.check(f"input[name=_selected_action][value='{alice.pk}']")
    p.select_option("select[name=action]", "test_page")
    p.click("button[name=index]")

    incident = Incident.objects.get(summary__startswith="TEST PAGE for Alice Adams")
    expect(p.locator(".messagelist")).to_contain_text(
        f"Test page sent to Alice Adams as incident #{incident.pk}: SMS to +15***01 at once"
    )
    assert page.problems == []
