"""Admin and the API docs work in a real browser under our Content-Security-Policy."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_sign_in_and_a_change_page_work_without_csp_violations(page, root):
    service = ServiceFactory(name="payments")

    sign_in(page.page)
    page.page.goto(f"/admin/paging/service/{service.pk}/change/")

    expect(page.page.locator("#id_name")).to_have_value("payments")
    # Admin's own scripts (loaded from static) run: the "Save" row is wired up.
    expect(page.page.locator("input[name=_save]")).to_be_visible()
    assert page.problems == []


def test_api_docs_render_operations_from_our_static_files(page, root):
    sign_in(page.page)
    requested = []
    page.page.on("request", lambda request: requested.append(request.url))

    page.page.goto("/api/v1/docs/")

    expect(page.page.locator(".opblock").first).to_be_visible()
    expect(
        page.page.locator(".opblock-summary-path", has_text="/api/v1/incidents/").first
    ).to_be_visible()
    assert all(url.startswith(page.page.url.split("/api/")[0]) for url in requested), requested
    assert page.problems == []
