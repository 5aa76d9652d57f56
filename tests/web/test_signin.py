"""Signing in and out of the responder app, its lockout, and setting a password by e-mail."""

import re

import pytest
from django.core import mail

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HERE = "192.0.2.20"


def sign_in(client, username, password, next_url="/"):
    data = {"username": username, "password": password, "next": next_url}
    return client.post("/login/", data, REMOTE_ADDR=HERE)


def test_a_responder_signs_in_with_a_password_and_lands_on_now(client, rita):
    response = sign_in(client, "rita", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/"
    assert "Open incidents for me" in client.get("/").content.decode()


def test_a_wrong_password_is_refused_in_words(client, rita):
    response = sign_in(client, "rita", "wrong")

    assert response.status_code == 200
    assert "That username and password do not match." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_deactivated_person_cannot_sign_in(client, rita):
    rita.is_active = False
    rita.save()

    response = sign_in(client, "rita", PASSWORD)

    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_repeated_wrong_passwords_lock_the_sign_in_out_with_a_page_in_words(client, rita):
    statuses = [sign_in(client, "rita", "wrong").status_code for _ in range(5)]
    locked = sign_in(client, "rita", PASSWORD)

    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page and "Please try again after" in page
    assert "_auth_user_id" not in client.session


def test_sign_out_takes_a_post_and_returns_to_sign_in(client, rita):
    client.force_login(rita)

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/")["Location"] == "/login/?next=/"


def test_signed_in_people_skip_the_sign_in_form(client, rita):
    client.force_login(rita)

    assert client.get("/login/")["Location"] == "/"


def _link(message) -> str:
    return re.search(r"https?://\S+/password/set/\S+/", message.body).group(0)


def test_a_person_without_a_password_sets_one_through_the_emailed_link(client, rita, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_URL = "https://oncall.example"
    rita.set_unusable_password()
    rita.save()

    sent = client.post("/password/", {"email": rita.email.upper()}, follow=True)

    assert "Check your e-mail" in sent.content.decode()
    [message] = mail.outbox
    assert message.to == [rita.email] and message.subject == "Set your on-call password"
    link = _link(message)
    assert link.startswith("https://oncall.example/password/set/")

    path = link.removeprefix("https://oncall.example")
    form = client.get(path, follow=True)
    new = "a quiet lighthouse 42"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )

    assert "Password saved" in done.content.decode()
    client.logout()
    assert sign_in(client, "rita", new)["Location"] == "/"
    again = client.get(path, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    response = client.post("/password/", {"email": "nobody@example.com"}, follow=True)

    assert "Check your e-mail" in response.content.decode()
    assert mail.outbox == []


def test_a_link_built_on_a_forged_host_header_is_not_sent(client, rita, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_URL = "https://oncall.example"
    settings.ALLOWED_HOSTS = ["*"]

    client.post("/password/", {"email": rita.email}, HTTP_HOST="evil.example")

    assert "evil.example" not in mail.outbox[0].body


def test_the_sign_in_page_offers_single_sign_on_only_when_it_is_configured(client, settings):
    assert "single sign-on" not in client.get("/login/?next=/incidents/").content.decode()

    settings.OIDC_ISSUER = "https://id.example"
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "oncall", "s3cret"
    page = client.get("/login/?next=/incidents/").content.decode()

    assert 'href="/sso/login/?next=%2Fincidents%2F"' in page
    assert "s3cret" not in page
