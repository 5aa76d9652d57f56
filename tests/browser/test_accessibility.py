"""Every page of the responder app on a phone, checked by axe-core: no serious or critical
accessibility violation, for a responder, a team manager and a person not signed in.

axe-core comes from npm (tests/browser/package.json; `make test` installs it when npm is there)
and is injected with `page.evaluate`, which the pages' Content Security Policy does not block.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Membership, Role, User
from paging.models import ContactKind, ContactMethod, Notification
from paging.notify.push import action_url
from paging.notify.verification import verify_link_url
from schedules.models import CoverRequest, Override, Schedule
from tests.browser.conftest import PASSWORD, PHONE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BAD = {"serious", "critical"}
SHOWN = {200, 400, 410}  # a page, a form's errors, a refused push link

# The app's routes that are not pages a person looks at, and why (every other route of the app
# must have a visit below, so that a new page is checked as soon as it exists).
NOT_PAGES = {
    "incident-act": "a button's POST",
    "incident-live": "a part of the incident page, checked there as it updates",
    "cover-request": "a button's POST (accept, decline, cancel)",
    "me-method-add": "a form's POST",
    "me-method-verify": "a form's POST",
    "me-method-send": "a form's POST",
    "me-method-remove": "a form's POST",
    "me-rule-add": "a form's POST",
    "me-rule-remove": "a form's POST",
    "me-test-page": "a form's POST",
    "me-feed-new": "a form's POST",
    "me-feed-revoke": "a form's POST",
    "me-token-create": "a form's POST",
    "me-token-revoke": "a form's POST",
    "me-zone": "a form's POST",
    "signout": "a form's POST",
    "manifest": "JSON for the phone's home screen",
    "service-worker": "JavaScript",
}


def _axe_source() -> str:
    """Return axe-core's script; skip (fail under CI=true) when npm did not install it."""
    if AXE.exists():
        return AXE.read_text()
    message = (
        f"the accessibility check needs axe-core at {AXE} "
        "(install npm, then `make test` or `cd tests/browser && npm ci`)"
    )
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def axe() -> str:
    return _axe_source()


def _app_routes() -> set[str]:
    """Return the names of the responder app's routes (web/urls.py)."""
    web = get_resolver().url_patterns
    found = set()
    for entry in web:
        if getattr(entry, "app_name", None) == "web":
            found |= {p.name for p in entry.url_patterns if isinstance(p, URLPattern)}
    return found


def _violations(page, axe: str) -> list[str]:
    """Run axe on the page; return its serious and critical violations, in words."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in result["violations"]
        if v["impact"] in BAD
    ]


def _check(page, axe: str, paths: list[str]) -> dict[str, list[str]]:
    """Visit each path; return the violations found, by path."""
    found = {}
    for path in paths:
        response = page.goto(path)
        page.wait_for_load_state("load")
        if response.status not in SHOWN or ("/login/" in page.url and path != "/login/"):
            found[path] = [f"not the page itself: HTTP {response.status} at {page.url}"]
        elif problems := _violations(page, axe):
            found[path] = problems
    return found


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}:\n  " + "\n  ".join(problems) for path, problems in found.items())


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/")


def _pending_push(user) -> ContactMethod:
    """A push device turned on and waiting for its Confirm tap."""
    return ContactMethod.objects.create(
        user=user,
        kind=ContactKind.PUSH,
        address="fcm.googleapis.com …a1b2",
        name="phone",
        verify_digest="0" * 64,
        verify_sent_at=timezone.now(),
    )


def _with_requests(covering) -> Schedule:
    """Put Bob in Rita's rotation, Rita covering part of his shift, and Bob asking for cover."""
    schedule = Schedule.objects.get(name="Payments primary")
    bob = User.objects.get(username="bob")
    schedule.layers.get().members.create(user=bob, position=1)
    soon = timezone.now() + dt.timedelta(days=1)
    Override.objects.create(
        schedule=schedule, user=covering, start=soon, end=soon + dt.timedelta(hours=4)
    )
    later = soon + dt.timedelta(days=2)
    CoverRequest.objects.create(
        schedule=schedule, requester=bob, start=later, end=later + dt.timedelta(hours=8)
    )
    return schedule


@pytest.fixture
def pages(settings, live_server, rita, incident):
    """Build what each page shows with something on it; return the paths, by route name."""
    settings.PUBLIC_URL = live_server.url
    ContactMethod.objects.create(user=rita, kind=ContactKind.SMS, address="+15550100077")
    push = _pending_push(rita)
    notification = Notification.objects.filter(incident=incident, user=rita).first()
    schedule = _with_requests(rita)
    uid = urlsafe_base64_encode(force_bytes(rita.pk))
    token = default_token_generator.make_token(rita)
    return {
        "now": ["/"],
        "incidents": ["/incidents/", "/incidents/?status=nonsense"],
        "incident": [f"/incidents/{incident.pk}/"],
        "schedules": ["/schedules/"],
        "schedule": [f"/schedules/{schedule.pk}/"],
        "schedule-cover": [f"/schedules/{schedule.pk}/cover/"],
        "schedule-ask": [f"/schedules/{schedule.pk}/ask/"],
        "me": ["/me/"],
        "me-push": ["/me/push/"],
        "signin": ["/login/"],
        "password_reset": ["/password/"],
        "password_reset_sent": ["/password/sent/"],
        "password_set": [f"/password/set/{uid}/{token}/"],
        "password_set_done": ["/password/done/"],
        "push-action": [
            action_url(notification, "ack").removeprefix(live_server.url),
            "/push/act/forged/",
        ],
        "push-confirm": [verify_link_url(push, "push-confirm").removeprefix(live_server.url)],
    }


SIGNED_OUT = ["signin", "password_reset", "password_reset_sent", "password_set"]
SIGNED_OUT += ["password_set_done", "push-action", "push-confirm"]
SIGNED_IN = ["now", "incidents", "incident", "schedules", "schedule", "schedule-cover"]
SIGNED_IN += ["schedule-ask", "me", "me-push"]


def test_every_page_of_the_app_has_an_accessibility_visit():
    visited = set(SIGNED_IN) | set(SIGNED_OUT)
    unvisited = _app_routes() - visited - set(NOT_PAGES)
    assert unvisited == set(), f"add an accessibility visit for: {sorted(unvisited)}"
    assert set(NOT_PAGES) <= _app_routes(), "NOT_PAGES names a route that is gone"


def test_the_pages_a_person_not_signed_in_sees_have_no_serious_violation(phone_page, pages, axe):
    found = _check(phone_page, axe, [p for name in SIGNED_OUT for p in pages[name]])
    phone_page.goto("/login/")
    phone_page.fill("#id_username", "rita")
    phone_page.fill("#id_password", "not her password")
    phone_page.get_by_role("button", name="Sign in", exact=True).click()
    phone_page.get_by_role("alert").wait_for()
    if problems := _violations(phone_page, axe):
        found["/login/ (a wrong password)"] = problems
    assert found == {}, "axe found serious or critical violations:\n" + _report(found)


def test_a_responders_pages_have_no_serious_violation(phone_page, pages, axe):
    _sign_in(phone_page, "rita")
    found = _check(phone_page, axe, [p for name in SIGNED_IN for p in pages[name]])
    assert found == {}, "axe found serious or critical violations:\n" + _report(found)


def test_a_team_managers_pages_have_no_serious_violation(phone_page, pages, rita, axe):
    mona = UserFactory(username="mona", first_name="Mona", last_name="Meyer", is_staff=True)
    mona.set_password(PASSWORD)
    mona.save()
    Membership.objects.create(team=rita.memberships.get().team, user=mona, role=Role.MANAGER)
    _sign_in(phone_page, "mona")
    found = _check(phone_page, axe, [p for name in SIGNED_IN for p in pages[name]])
    assert found == {}, "axe found serious or critical violations:\n" + _report(found)
