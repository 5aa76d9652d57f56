"""Sign-in throttling: repeated wrong passwords lock that (username, address) pair out a while."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

from oncall.env import env_header
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"
HERE = "192.0.2.10"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # The slow default hasher would make each of these dozens of sign-ins take a quarter second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def root():
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client, password, *, username="root", address=HERE, **headers):
    """Post the admin sign-in form as a browser at `address` would."""
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post(LOGIN, data, REMOTE_ADDR=address, **headers)


def fail_five_times(client, **kwargs):
    """Post five wrong passwords: four get the form again, the fifth the lockout."""
    statuses = [sign_in(client, "wrong", **kwargs).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_right_password_signs_in(client, root):
    response = sign_in(client, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_five_wrong_passwords_lock_out_even_the_right_one_with_a_message(client, root):
    fail_five_times(client)

    response = sign_in(client, PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "try again after" in page
    assert "UTC" in page
    assert int(response["Retry-After"]) > 14 * 60
    assert "_auth_user_id" not in client.session


def test_lockout_leaves_other_addresses_and_usernames_alone(client, root):
    UserFactory(username="alice").set_password(PASSWORD)
    fail_five_times(client)

    assert sign_in(client, PASSWORD, address="198.51.100.7").status_code == 302
    client.logout()
    assert sign_in(client, "wrong", username="alice").status_code == 200


def test_lockout_ends_after_the_lockout_minutes(client, root):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_five_times(client)
        clock.shift(dt.timedelta(minutes=14))
        assert sign_in(client, PASSWORD).status_code == 429
        clock.shift(dt.timedelta(minutes=2))
        assert sign_in(client, PASSWORD).status_code == 302


def test_reset_command_unlocks_a_username(client, root):
    fail_five_times(client)

    call_command("axes_reset_username", "root")

    assert sign_in(client, PASSWORD).status_code == 302


def test_admin_lists_lockouts_and_deleting_one_unlocks(client, root):
    fail_five_times(client)
    other = client_class_for(client)
    other.force_login(root)
    listing = other.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "root" in listing.content.decode()

    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    other.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )

    assert sign_in(client, PASSWORD).status_code == 302


def test_forwarded_for_header_is_ignored_unless_configured(client, root):
    fail_five_times(client, HTTP_X_FORWARDED_FOR="203.0.113.1")

    # A client cannot walk around its lockout by claiming another address.
    response = sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert response.status_code == 429


def test_a_configured_proxy_header_gives_the_address(client, root, settings, monkeypatch):
    monkeypatch.setenv("SIGNIN_CLIENT_IP_HEADER", "X-Real-IP")
    settings.SIGNIN_CLIENT_IP_HEADER = env_header("SIGNIN_CLIENT_IP_HEADER")
    fail_five_times(client, address="10.0.0.1", HTTP_X_REAL_IP="203.0.113.1")

    # Same proxy, another client behind it: not locked out.
    response = sign_in(client, PASSWORD, address="10.0.0.1", HTTP_X_REAL_IP="203.0.113.2")

    assert response.status_code == 302


def client_class_for(client):
    """Return a fresh test client of the same class (a separate browser)."""
    return type(client)()
