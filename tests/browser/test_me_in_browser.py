"""A responder on a phone adds their number on Me and verifies it with the code texted to it."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, Role, Team
from paging.models import ContactMethod, NotificationRule
from tests.browser.conftest import (
    PASSWORD,
    screenshot,
    scrolls_sideways,
    sign_in_app,
    small_targets,
)
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rita(settings):
    """A Payments responder in Berlin whose e-mail is verified and paged at once."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team = Team.objects.create(name="Payments", slug="payments")
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reyes")
    rita.time_zone = "Europe/Berlin"
    rita.set_password(PASSWORD)
    rita.save()
    Membership.objects.create(team=team, user=rita, role=Role.RESPONDER)
    mail = ContactMethodFactory(user=rita, kind="email", address="rita@example.com", name="work")
    NotificationRule.objects.create(user=rita, contact_method=mail)
    return rita


def test_a_responder_adds_a_phone_number_and_verifies_it_with_the_texted_code(phone, rita, twilio):
    page = phone.page
    sign_in_app(page)
    page.get_by_role("link", name="Me", exact=True).click()
    expect(page.get_by_role("heading", name="Me", exact=True)).to_be_visible()

    page.get_by_text("Add a phone number or e-mail address").click()
    page.get_by_label("Number or address").fill("+15550100123")
    page.get_by_role("button", name="Add and send a code").click()

    expect(page.locator("#notice")).to_contain_text("Added +15550100123. We sent it a code")
    sent = twilio.wait_for_messages(to="+15550100123", count=1)
    code = re.search(r"\b(\d{6})\b", sent[0].body).group(1)
    method = ContactMethod.objects.get(address="+15550100123")
    card = page.locator(f"#method-{method.pk}")
    expect(card).to_contain_text("not verified")
    card.get_by_label("Code for +15550100123").fill(code)
    card.get_by_role("button", name="Verify").click()

    expect(page.locator("#notice")).to_have_text("Verified: pages may now go to +15550100123.")
    expect(page.locator(f"#method-{method.pk}")).to_contain_text("verified")
    method.refresh_from_db()
    assert method.verified

    page.get_by_text("Add a step", exact=True).click()
    method_choice = page.get_by_label("Contact method", exact=True)
    method_choice.select_option(label="SMS to +15550100123 (mobile)")
    page.get_by_label("After", exact=True).fill("2m")
    page.get_by_role("button", name="Add the step").click()
    expect(page.locator(".steps")).to_contain_text("After 2 minutes: SMS to +15550100123")
    page.get_by_role("button", name="Create my calendar feed").click()
    expect(page.get_by_label("Calendar feed URL")).to_have_value(re.compile(r"/calendar/.+\.ics$"))
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    expect(page.locator("footer")).to_contain_text("Times in Europe/Berlin.")
    assert not scrolls_sideways(page)
    assert small_targets(page) == []
    assert phone.problems == []
    screenshot(page, "web-me", full_page=True)
