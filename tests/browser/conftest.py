"""A headless Debian Chromium driven by Playwright, shared by the browser tests."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from accounts.models import Membership, Role, Team
from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from schedules.models import Layer, Schedule
from tests.factories import (
    ContactMethodFactory,
    IntegrationFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
)

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


# --- A phone, for the responder app ----------------------------------------------------------

PHONE = {"width": 390, "height": 844}


def open_phone(browser, base_url: str) -> tuple[object, "Watched"]:
    """Open a context the size of a phone; return it (to close) and its watched page."""
    context = browser.new_context(base_url=base_url, viewport=PHONE)
    context.set_default_timeout(10_000)
    return context, Watched(context.new_page())


@pytest.fixture
def phone(browser, live_server):
    """A page the size of a phone, watched for errors and CSP violations."""
    context, page = open_phone(browser, live_server.url)
    try:
        yield page
    finally:
        context.close()


def sign_in_app(page, username: str = "rita") -> None:
    """Sign in to the responder app through its own form, as a person would."""
    from playwright.sync_api import expect

    page.goto("/")
    assert page.url.endswith("/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Now", exact=True)).to_be_visible()


def scrolls_sideways(page) -> bool:
    """Return whether the page is wider than the screen (a phone would scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def small_targets(page) -> list[str]:
    """Return the buttons and links in the main area shorter than 44 px (tap targets)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main button, main .button, nav a, main a.summary')]
            .filter(e => e.getBoundingClientRect().height < 44)
            .map(e => e.textContent.trim())"""
    )


# --- Rita, a Payments responder, and the incident that paged her ------------------------------


def responder(team: Team, username: str, first: str, last: str):
    """Make a responder of `team` in Berlin who signs in with PASSWORD and has an SMS number."""
    user = UserFactory(username=username, first_name=first, last_name=last)
    user.time_zone = "Europe/Berlin"
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(team=team, user=user, role=Role.RESPONDER)
    ContactMethodFactory(user=user)
    return user


@pytest.fixture
def rita(settings):
    """Rita, of Payments: on its schedule, Level 1 of Checkout's policy (Bob is Level 2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team = Team.objects.create(name="Payments", slug="payments")
    rita = responder(team, "rita", "Rita", "Reyes")
    bob = responder(team, "bob", "Bob", "Brown")
    primary = Schedule.objects.create(name="Payments primary", team=team, time_zone="UTC")
    layer = Layer.objects.create(schedule=primary, handoff_date="2020-01-06", shift_unit="weeks")
    layer.members.create(user=rita, position=0)
    policy = PolicyFactory(levels=[[rita], [bob]], team=team)
    ServiceFactory(name="Checkout", team=team, escalation_policy=policy)
    return rita


@pytest.fixture
def incident(rita):
    """A critical Checkout incident that paged Rita at Level 1."""
    integration = IntegrationFactory(service=rita.memberships.get().team.services.get())
    event = Event(
        action="trigger",
        summary="Checkout error rate above 5%",
        details={"host": "web-3", "error_rate": "7.2%"},
        links=({"href": "https://grafana.example/d/checkout", "text": "Dashboard"},),
    )
    incident = alert_ingest(integration=integration, event=event, payload={"status": "firing"})
    incident_escalate(incident.pk)
    return incident
