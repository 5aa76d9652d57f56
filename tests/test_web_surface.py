"""The web surface: API docs from our own static files, a Content-Security-Policy on pages."""

import re
from pathlib import Path

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


def csp_of(response) -> dict[str, str]:
    """Return the response's Content-Security-Policy as {directive: sources}."""
    header = response.headers.get("Content-Security-Policy", "")
    parts = (p.strip().split(None, 1) for p in header.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


@pytest.mark.parametrize("path", ["/admin/login/", "/login/", "/api/v1/docs/", "/no-such-page/"])
def test_html_pages_carry_a_strict_content_security_policy(client, path):
    policy = csp_of(client.get(path))

    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in policy.get("script-src", "")
    assert "unsafe-eval" not in policy.get("script-src", "")


def test_api_docs_page_has_no_inline_script_without_a_nonce(client):
    response = client.get("/api/v1/docs/")

    nonce = re.search(r"'nonce-([^']+)'", response.headers.get("Content-Security-Policy", ""))
    for tag in re.findall(r"<script[^>]*>", response.content.decode()):
        assert "src=" in tag or (nonce and f'nonce="{nonce.group(1)}"' in tag), tag


ROOT = Path(__file__).resolve().parents[1]
# E-mail bodies are read in mail clients, where no Content-Security-Policy applies.
EMAIL_TEMPLATES = {"page_email.html"}


def page_templates() -> list[Path]:
    """Return our own HTML page templates."""
    found = ROOT.glob("*/templates/**/*.html")
    return sorted(p for p in found if p.name not in EMAIL_TEMPLATES)


@pytest.mark.parametrize("template", page_templates(), ids=lambda p: p.name)
def test_page_templates_have_no_inline_style_or_script_the_policy_would_block(template):
    text = template.read_text()

    assert not re.search(r"\sstyle=", text), "inline style attribute"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
        assert "src=" in tag or "csp_nonce" in tag, tag
