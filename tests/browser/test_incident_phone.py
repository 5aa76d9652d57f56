"""An on-call lead acknowledges an incident from its admin page on a phone."""

import pytest
from playwright.sync_api import expect

from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from tests.browser.conftest import PHONE, screenshot, scrolls_sideways, sign_in
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def incident(payments):
    integration = IntegrationFactory(service=payments)
    event = Event(
        action="trigger",
        summary="Checkout error rate above 5%",
        details={"host": "web-3", "error_rate": "7.2%"},
        links=({"href": "https://grafana.example/d/checkout", "text": "Dashboard"},),
    )
    incident = alert_ingest(integration=integration, event=event, payload={})
    incident_escalate(incident.pk)
    return incident


def _on_first_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] + box["height"] <= PHONE["height"]


def test_acknowledge_an_incident_from_its_page_on_a_phone(phone, root, incident):
    page = phone.page
    sign_in(page)

    page.goto(f"/admin/paging/incident/{incident.pk}/change/")

    summary = page.locator(".incident-summary")
    acknowledge = page.get_by_role("button", name="Acknowledge")
    expect(summary).to_have_text("Checkout error rate above 5%")
    expect(page.locator(".incident-status")).to_have_text("triggered")
    assert _on_first_screen(summary) and _on_first_screen(acknowledge)
    assert not scrolls_sideways(page)

    acknowledge.click()

    expect(page.locator(".messagelist")).to_contain_text(f"#{incident.pk} acknowledged.")
    expect(page.locator(".incident-status")).to_have_text("acknowledged")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    timeline = page.locator(".incident-section", has_text="Timeline")
    expect(timeline.locator("tr").last).to_contain_text("Acknowledged by root via admin")
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute(
        "href", "https://grafana.example/d/checkout"
    )
    assert not scrolls_sideways(page)
    assert phone.problems == []
    screenshot(page, "incident-phone")


def test_incident_list_keeps_the_state_in_view_on_a_phone(phone, root, incident):
    page = phone.page
    sign_in(page)

    page.goto("/admin/paging/incident/")

    row = page.locator("#result_list tbody tr").first
    expect(row.locator("td.field-state")).to_have_text("triggered")
    expect(row.locator("td.field-current_level")).to_have_text("Level 1 of 2, loop 1")
    box = row.locator("td.field-state").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert not scrolls_sideways(page)
    assert phone.problems == []
