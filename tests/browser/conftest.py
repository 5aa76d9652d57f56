"""A headless Debian Chromium driven by Playwright, shared by the browser tests."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    """Return what the browser tests lack on this machine, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python (pip install playwright)"
    if not shutil.which(CHROMIUM):
        return f"Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def _require_browser() -> None:
    """Fail under CI=true, skip elsewhere, when Playwright or Chromium is missing."""
    missing = _missing()
    if missing is None:
        return
    message = f"browser tests need {missing}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    """Start one headless Chromium for a module's tests."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    # Sync Playwright runs an event loop on this thread while it is open, which Django's ORM
    # takes for async code; the tests' own queries are plain sync code. Module scope closes
    # the loop (and restores the check) before any other test module runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page plus every console error and CSP violation it reported."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)
        # Chromium reports a violation on the console too; the event gives the directive.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )

    def _console(self, message) -> None:
        # A failed load is also reported on the console, without its URL: _response names it.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


@pytest.fixture
def page(browser, live_server):
    """Open a fresh browser context; yield its page, watched for errors and CSP violations."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot(page, name: str, **options) -> Path:
    """Take the README's screenshot `name`: into docs/ with UPDATE_SCREENSHOTS=1, else aside.

    Every run takes it (a page that cannot be drawn fails the test); only an update rewrites the
    committed picture, so a plain test run leaves the checkout as it was.
    """
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else Path(tempfile.gettempdir())
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), **options)
    assert path.stat().st_size > 0
    return path


PASSWORD = "correct horse battery staple"


def make_root(settings, **fields):
    """Store the superuser `root` with a password to type (cheap hashing: tests sign in often)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = UserFactory(username="root", is_staff=True, is_superuser=True, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def root(settings):
    return make_root(settings)


def sign_in(page) -> None:
    """Sign in as root through admin's own form, as a person would."""
    from playwright.sync_api import expect

    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("On-call administration")
