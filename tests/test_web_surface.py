"""The web surface: API docs from our own static files, a Content-Security-Policy on pages."""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def asset_urls(page: str) -> list[str]:
    """Return every script and stylesheet URL a page loads."""
    return re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)


def test_api_docs_load_swagger_ui_from_our_static_files(client):
    page = client.get("/api/v1/docs/").content.decode()

    urls = asset_urls(page)
    assert any("swagger-ui-bundle" in url for url in urls)
    for url in urls:
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url
    assert "cdn.jsdelivr.net" not in page

