"""Single sign-on against a real OpenID Connect provider (tests/fakes/oidc.py) over HTTP.

The Django test client cannot follow a redirect off-site, so each sign-in is walked by hand:
/sso/login/ → the provider's authorization endpoint (with requests) → /sso/callback/.
"""

import logging
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from accounts import access
from accounts.checks import sso_settings
from accounts.models import Membership, Role, Team, User
from accounts.sso import forget_discovery
from oncall.env import env_team_map
from tests.factories import UserFactory
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeIssuer

TEAM_MAP = (
    ("sre", "platform", "manager"),
    ("oncall", "platform", "responder"),
    ("dev", "web-shop", "responder"),
    ("readers", "web-shop", "observer"),
)
ROLES = ("manager", "responder", "observer")


@pytest.fixture(scope="session")
def fake_issuer():
    with FakeIssuer() as fake:
        yield fake


@pytest.fixture
def issuer(fake_issuer, settings, db):
    """Turn single sign-on on against the fake provider."""
    fake_issuer.reset()
    forget_discovery()
    settings.OIDC_ISSUER = fake_issuer.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_TEAM_MAP = TEAM_MAP
    yield fake_issuer
    forget_discovery()


def dana(**overrides):
    claims = {
        "sub": "subject-dana",
        "email": "dana@example.com",
        "email_verified": True,
        "preferred_username": "dana",
        "given_name": "Dana",
        "groups": ["sre", "dev", "unmapped"],
    }
    return {**claims, **overrides}


def sign_in(client, *, next_url="/admin/"):
    """Walk one sign-in: our login page, the provider, then our callback; return its response."""
    start = client.get("/sso/login/", {"next": next_url})
    assert start.status_code == 302, start.content
    provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert provider.status_code == 302, provider.text
    back = urlsplit(provider.headers["Location"])
    assert back.path == "/sso/callback/"
    return client.get(f"{back.path}?{back.query}")


def signed_in(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def roles_of(user) -> dict[str, str]:
    return dict(Membership.objects.filter(user=user).values_list("team__slug", "role"))


def test_first_sign_in_creates_the_person_and_their_teams_from_groups(issuer, client):
    issuer.next_sign_in(**dana())

    response = sign_in(client)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    person = signed_in(client)
    assert (person.username, person.first_name) == ("dana", "Dana")
    assert person.email == "dana@example.com"
    assert not person.has_usable_password()
    assert roles_of(person) == {"platform": "manager", "web-shop": "responder"}
    assert Team.objects.get(slug="web-shop").name == "Web Shop"


def test_a_later_sign_in_changes_roles_and_drops_teams_whose_group_is_gone(issuer, client):
    issuer.next_sign_in(**dana())
    sign_in(client)
    person = signed_in(client)
    ops = Team.objects.create(name="Ops", slug="ops")
    Membership.objects.create(user=person, team=ops, role=Role.MANAGER)

    issuer.next_sign_in(**dana(groups=["oncall"], email_verified=False))
    client.logout()
    sign_in(client)

    assert signed_in(client) == person
    assert User.objects.count() == 1
    # Mapped teams follow the groups; a team the map does not name is left alone.
    assert roles_of(person) == {"platform": "responder", "ops": "manager"}


def test_the_highest_role_wins_when_several_groups_map_to_one_team(issuer, client):
    issuer.next_sign_in(**dana(groups=["readers", "dev"]))

    sign_in(client)

    assert roles_of(signed_in(client)) == {"web-shop": "responder"}


def test_a_verified_email_signs_into_the_existing_account(issuer, client):
    erin = UserFactory(username="erin", email="erin@example.com")
    issuer.next_sign_in(**dana(sub="subject-erin", email="Erin@Example.com", groups=[]))

    sign_in(client)

    assert signed_in(client) == erin
    assert User.objects.count() == 1


def test_an_unverified_email_never_takes_over_an_account(issuer, client):
    erin = UserFactory(username="erin", email="erin@example.com")
    claims = dana(sub="intruder", email="erin@example.com", email_verified=False)
    issuer.next_sign_in(**{**claims, "preferred_username": "erin"})

    sign_in(client)

    newcomer = signed_in(client)
    assert newcomer != erin
    assert (newcomer.username, newcomer.email) == ("erin-2", "")
    assert roles_of(erin) == {}


def test_a_deactivated_person_is_refused_and_their_teams_stay_as_they_were(issuer, client, caplog):
    UserFactory(username="erin", email="erin@example.com", is_active=False)
    issuer.next_sign_in(**dana(email="erin@example.com"))

    with caplog.at_level(logging.WARNING, logger="accounts.sso"):
        response = sign_in(client)

    assert response.status_code == 403
    assert "Your account here is deactivated." in response.content.decode()
    assert signed_in(client) is None
    assert not Membership.objects.filter(team__slug="platform").exists()
    assert "erin is deactivated" in caplog.text


@pytest.mark.parametrize(
    "misbehave, logged",
    [
        ({"sign_with_other_key": True}, "Signature verification failed"),
        ({"audience": "someone-else"}, "Audience doesn't match"),
    ],
    ids=["bad-signature", "wrong-audience"],
)
def test_an_id_token_we_cannot_trust_is_refused_with_a_page(
    issuer, client, caplog, misbehave, logged
):
    issuer.next_sign_in(**dana())
    for name, value in misbehave.items():
        setattr(issuer.state, name, value)

    with caplog.at_level(logging.WARNING, logger="accounts.sso"):
        response = sign_in(client)

    assert response.status_code == 403
    assert "Single sign-on did not sign you in" in response.content.decode()
    assert signed_in(client) is None
    assert not User.objects.exists()
    assert logged in caplog.text


def test_a_discovery_document_naming_another_issuer_is_refused(issuer, client, caplog):
    issuer.state.discovery_issuer = "https://login.example.net"

    with caplog.at_level(logging.WARNING, logger="accounts.sso"):
        response = client.get("/sso/login/")

    assert response.status_code == 403
    assert "Single sign-on did not sign you in" in response.content.decode()
    assert "names issuer 'https://login.example.net', not OIDC_ISSUER" in caplog.text


def test_a_callback_without_a_sign_in_under_way_is_refused(issuer, client):
    response = client.get("/sso/callback/", {"code": "made-up", "state": "made-up"})

    assert response.status_code == 403
    assert signed_in(client) is None


def test_the_provider_saying_no_is_a_page_not_an_error(issuer, client):
    response = client.get("/sso/callback/", {"error": "access_denied", "state": "x"})

    assert response.status_code == 403
    assert "did not sign you in" in response.content.decode()


@pytest.mark.parametrize(
    "wanted, landed",
    [
        ("/admin/accounts/team/", "/admin/accounts/team/"),
        ("https://evil.example.com/admin/", "/admin/"),
        ("//evil.example.com/", "/admin/"),
    ],
)
def test_next_is_followed_only_within_this_site(issuer, client, wanted, landed):
    issuer.next_sign_in(**dana())

    response = sign_in(client, next_url=wanted)

    assert response["Location"] == landed


def test_a_manager_made_by_the_map_manages_their_team(issuer, client):
    issuer.next_sign_in(**dana(groups=["sre"]))

    sign_in(client)

    person = signed_in(client)
    platform = Team.objects.get(slug="platform")
    assert access.manages_any(person)
    assert access.may_configure_team(person, platform)
    assert not access.is_site_admin(person)


def test_the_provider_is_asked_for_its_endpoints_once(issuer, client):
    issuer.next_sign_in(**dana())
    sign_in(client)
    client.logout()
    sign_in(client)

    assert issuer.state.discovery_reads == 1


def test_the_client_secret_never_shows_in_logs_or_pages(issuer, client, caplog):
    pages = []
    with caplog.at_level(logging.DEBUG):
        issuer.next_sign_in(**dana())
        pages.append(sign_in(client))
        pages.append(Client().get("/admin/login/"))  # the page a signed-out visitor sees
        issuer.state.sign_with_other_key = True
        pages.append(sign_in(client))

    assert [page.status_code for page in pages] == [302, 200, 403]
    assert issuer.state.token_requests[0]["client_secret"] == CLIENT_SECRET
    assert CLIENT_SECRET not in caplog.text
    assert all(CLIENT_SECRET not in page.content.decode() for page in pages)


def test_a_wrong_client_secret_is_refused_without_showing_it(issuer, client, settings, caplog):
    settings.OIDC_CLIENT_SECRET = "wrong-secret-value-123"
    issuer.next_sign_in(**dana())

    with caplog.at_level(logging.DEBUG):
        response = sign_in(client)

    assert response.status_code == 403
    assert "401" in caplog.text
    assert "wrong-secret-value-123" not in caplog.text + response.content.decode()


def test_the_sign_in_page_offers_single_sign_on_when_configured(issuer, client):
    page = client.get("/admin/login/?next=/admin/paging/incident/").content.decode()

    assert "Sign in with single sign-on" in page
    assert 'href="/sso/login/?next=%2Fadmin%2Fpaging%2Fincident%2F"' in page


def test_without_an_issuer_there_is_no_single_sign_on(client, settings, db):
    settings.OIDC_ISSUER = ""

    assert client.get("/sso/login/").status_code == 404
    assert client.get("/sso/callback/", {"code": "x", "state": "y"}).status_code == 404
    page = client.get("/admin/login/").content.decode()
    assert "single sign-on" not in page
    assert 'name="password"' in page


def test_password_sign_in_still_works_beside_single_sign_on(issuer, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    root.set_password("correct horse battery staple")
    root.save()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": "correct horse battery staple", "next": "/admin/"},
    )

    assert response.status_code == 302
    assert signed_in(client) == root


def test_half_configuration_is_a_check_error_naming_what_is_missing(settings):
    settings.OIDC_ISSUER = "https://login.example.com"
    settings.OIDC_CLIENT_ID = ""
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET

    [error] = sso_settings(None)

    assert error.id == "accounts.E001"
    assert "OIDC_CLIENT_ID is not" in error.msg
    assert CLIENT_SECRET not in error.msg + error.hint


def test_a_malformed_team_map_is_an_error_naming_the_variable_and_entry(monkeypatch):
    monkeypatch.setenv("OIDC_TEAM_MAP", "sre:platform:manager, dev:web-shop:boss")
    with pytest.raises(ImproperlyConfigured, match="OIDC_TEAM_MAP: 'dev:web-shop:boss'"):
        env_team_map("OIDC_TEAM_MAP", roles=ROLES)

    monkeypatch.setenv("OIDC_TEAM_MAP", "sre-platform")
    with pytest.raises(ImproperlyConfigured, match="OIDC_TEAM_MAP: 'sre-platform' is not group"):
        env_team_map("OIDC_TEAM_MAP", roles=ROLES)


def test_start_up_refuses_a_malformed_team_map_and_a_half_configuration():
    def check(**variables: str) -> subprocess.CompletedProcess:
        keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "VIRTUAL_ENV"}}
        keep["VAR_DIR"] = os.environ.get("TMPDIR", "/tmp") + "/oncall-check"
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            env={**keep, "DEBUG": "true", **variables},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    bad_map = check(OIDC_TEAM_MAP="sre:platform")
    half = check(OIDC_ISSUER="https://login.example.com", OIDC_CLIENT_SECRET=CLIENT_SECRET)

    assert "OIDC_TEAM_MAP: 'sre:platform' is not group:team-slug:role" in bad_map.stderr
    assert half.returncode != 0
    assert "OIDC_CLIENT_ID is not" in half.stderr
    assert CLIENT_SECRET not in half.stderr + half.stdout


def test_an_unreachable_provider_is_a_page_not_an_error(issuer, client, settings, caplog):
    settings.OIDC_ISSUER = "http://127.0.0.1:1"

    with caplog.at_level(logging.WARNING, logger="accounts.sso"):
        response = client.get("/sso/login/")

    assert response.status_code == 403
    assert "Single sign-on did not sign you in" in response.content.decode()
    assert "cannot read the discovery document http://127.0.0.1:1/" in caplog.text
