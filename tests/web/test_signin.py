"""Signing in and out of the responder app, its lockout, and setting a password by e-mail."""

import datetime as dt
import re

import pytest
import time_machine
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


NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def ask_for_link(client, email, address=HERE):
    return client.post("/password/", {"email": email}, REMOTE_ADDR=address, follow=True)


def test_a_fourth_link_to_one_address_within_the_hour_looks_sent_but_sends_nothing(
    client, rita, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    with time_machine.travel(NOW, tick=False):
        pages = [ask_for_link(client, rita.email) for _ in range(3)]
        fourth = ask_for_link(client, rita.email.upper())

    assert len(mail.outbox) == 3
    assert fourth.status_code == 200
    assert fourth.redirect_chain == pages[0].redirect_chain
    assert fourth.content == pages[0].content


def test_a_full_unknown_address_answers_as_a_full_known_one(client, rita, settings):
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            ask_for_link(client, rita.email)
            ask_for_link(client, "nobody@example.com")
        known = ask_for_link(client, rita.email)
        unknown = ask_for_link(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content


def test_another_address_still_gets_its_link_when_one_is_full(client, rita, otto, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    with time_machine.travel(NOW, tick=False):
        for _ in range(4):
            ask_for_link(client, rita.email)
        ask_for_link(client, otto.email)

    assert [m.to for m in mail.outbox] == [[rita.email]] * 3 + [[otto.email]]


def test_a_client_asking_too_often_is_told_in_words_to_wait(client, rita, otto, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_RESET_PER_CLIENT = ((4, dt.timedelta(hours=1)),)

    with time_machine.travel(NOW, tick=False):
        for person in (rita, rita, otto, otto):
            ask_for_link(client, person.email)
        refused = ask_for_link(client, "new@example.com")
        elsewhere = ask_for_link(client, otto.email, address="198.51.100.7")

    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "Please try again after 10:00 UTC" in page and "in about 60 minutes" in page
    assert elsewhere.status_code == 200
    assert len(mail.outbox) == 5


def test_the_client_cap_follows_the_trusted_proxy_header(client, rita, settings):
    settings.PASSWORD_RESET_PER_CLIENT = ((1, dt.timedelta(hours=1)),)
    settings.SIGNIN_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"

    with time_machine.travel(NOW, tick=False):
        first = client.post("/password/", {"email": rita.email}, HTTP_X_REAL_IP="203.0.113.1")
        other = client.post("/password/", {"email": rita.email}, HTTP_X_REAL_IP="203.0.113.2")
        again = client.post("/password/", {"email": rita.email}, HTTP_X_REAL_IP="203.0.113.1")

    assert [first.status_code, other.status_code, again.status_code] == [302, 302, 429]


def test_links_are_sent_again_once_the_hour_has_passed(client, rita, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_RESET_PER_CLIENT = ((3, dt.timedelta(hours=1)),)

    with time_machine.travel(NOW, tick=False) as traveller:
        for _ in range(3):
            ask_for_link(client, rita.email)
        paused = ask_for_link(client, rita.email)
        traveller.shift(dt.timedelta(minutes=59, seconds=59))
        still = ask_for_link(client, rita.email)
        traveller.shift(dt.timedelta(seconds=1))
        again = ask_for_link(client, rita.email)

    assert paused.status_code == still.status_code == 429
    assert again.status_code == 200 and "Check your e-mail" in again.content.decode()
    assert len(mail.outbox) == 4


def test_a_bad_address_is_refused_in_words_and_counts_nothing(client, rita, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_RESET_PER_CLIENT = ((1, dt.timedelta(hours=1)),)

    with time_machine.travel(NOW, tick=False):
        bad = ask_for_link(client, "not an address")
        good = ask_for_link(client, rita.email)

    assert bad.status_code == 200 and "Enter a valid email address" in bad.content.decode()
    assert good.status_code == 200 and len(mail.outbox) == 1
