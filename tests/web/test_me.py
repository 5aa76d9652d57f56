"""Me: a person's own contact methods, rules, test page, calendar feed, API tokens and zone."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken, token_digest
from paging.models import ContactMethod, Incident, Notification, NotificationRule
from schedules.models import CalendarFeed
from tests.factories import ContactMethodFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """Return the page's visible words, tags removed and spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(body.split())


@pytest.fixture
def me(client, rita):
    client.force_login(rita)
    return client


def code_sent_to(twilio, number: str) -> str:
    """Return the verification code the fake Twilio last texted `number`."""
    body = [m.body for m in twilio.messages if m.to == number][-1]
    return re.search(r"\b(\d{6})\b", body).group(1)


def bearer(raw: str):
    """Ask the API for my tokens with `raw` as the bearer token, from a fresh client."""
    return Client().get("/api/v1/api-tokens/", HTTP_AUTHORIZATION=f"Bearer {raw}")


def add(me, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return me.post("/me/methods/", {"kind": "sms", "name": "", **fields}, follow=True)


@pytest.mark.parametrize("path", ["/me/", "/me/methods/", "/me/tokens/", "/me/zone/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.post(path) if path != "/me/" else client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_me_is_in_the_navigation_and_shows_only_my_own_things(me, rita, sam):
    ContactMethodFactory(user=rita, address="+15550100077", name="work phone")
    ContactMethodFactory(user=sam, address="+15550100099")
    ApiToken.issue(user=sam, name="sam's deploys")

    response = me.get("/me/")

    words = text(response)
    assert response.status_code == 200
    assert '<a href="/me/" aria-current="page">Me</a>' in response.content.decode()
    assert "SMS +15550100077 (work phone) verified" in words
    assert "+15550100099" not in words and "sam's deploys" not in words
    assert "SMS to +15***77 at once (the site default)" in words
    assert "You have no calendar feed" in words and "You have no API tokens" in words
    assert "data-copy" not in response.content.decode()  # nothing to copy yet


def test_adding_a_number_texts_a_code_that_verifies_it(
    me, rita, twilio, django_capture_on_commit_callbacks
):
    response = add(me, django_capture_on_commit_callbacks, address="+15550100123")

    method = ContactMethod.objects.get(user=rita, address="+15550100123")
    assert not method.verified and method.name == "mobile"
    assert "Added +15550100123. We sent it a code: Enter the code we texted" in text(response)
    assert "not verified" in text(response)

    code = code_sent_to(twilio, "+15550100123")
    done = me.post(f"/me/methods/{method.pk}/verify/", {"code": code}, follow=True)

    method.refresh_from_db()
    assert method.verified
    assert "Verified: pages may now go to +15550100123." in text(done)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"address": "555-0100"}, "Enter a phone number in E.164 form, such as +15550100001."),
        ({"address": "+881234567890"}, "Numbers starting +881"),
        ({"kind": "email", "address": "not-an-address"}, "Enter an e-mail address."),
        ({"kind": "pager", "address": "+15550100123"}, "Choose how to reach you: SMS"),
        ({"address": ""}, "Enter a phone number such as +15550100001 or an e-mail."),
        ({"address": "+15550100077"}, "You already have +15550100077 for SMS."),
    ],
)
def test_a_bad_contact_method_is_refused_in_words_and_nothing_is_stored(
    me, rita, twilio, django_capture_on_commit_callbacks, fields, words
):
    ContactMethodFactory(user=rita, address="+15550100077")

    response = add(me, django_capture_on_commit_callbacks, **fields)

    assert response.status_code == 400
    assert words in text(response)
    assert ContactMethod.objects.filter(user=rita).count() == 1
    assert twilio.messages == []


def test_a_number_twilio_refuses_is_kept_and_the_page_says_no_code_went_out(
    me, rita, twilio, django_capture_on_commit_callbacks
):
    twilio.fail_next(status=400, code=21211, message="The 'To' number is not valid.")

    response = add(me, django_capture_on_commit_callbacks, address="+15550100123")

    assert "No code was sent to +15550100123:" in text(response)
    assert "Send the code again" in text(response)
    assert not ContactMethod.objects.get(user=rita).verified and twilio.messages == []


def test_a_wrong_code_is_refused_in_words_and_five_lock_every_code_out(
    me, rita, twilio, django_capture_on_commit_callbacks
):
    add(me, django_capture_on_commit_callbacks, address="+15550100123")
    method = ContactMethod.objects.get(user=rita)
    code = code_sent_to(twilio, "+15550100123")
    wrong = "000000" if code != "000000" else "111111"

    first = me.post(f"/me/methods/{method.pk}/verify/", {"code": wrong})
    assert first.status_code == 400
    assert "That code was not taken: wrong or expired; send a fresh one." in text(first)
    for _ in range(4):
        me.post(f"/me/methods/{method.pk}/verify/", {"code": wrong})
    locked = me.post(f"/me/methods/{method.pk}/verify/", {"code": code})

    assert "too many wrong codes: every code, a fresh one too, is refused until" in text(locked)
    method.refresh_from_db()
    assert not method.verified


def test_an_empty_code_is_asked_for_in_words(me, rita):
    method = ContactMethodFactory(user=rita, verified=False)

    response = me.post(f"/me/methods/{method.pk}/verify/", {"code": ""})

    assert response.status_code == 400
    assert "Enter the code we sent." in text(response)


@pytest.mark.parametrize("code", ["123456", ""])
def test_a_verified_method_is_not_verified_again(me, rita, code):
    method = ContactMethodFactory(user=rita, address="+15550100077", verified=True)

    response = me.post(f"/me/methods/{method.pk}/verify/", {"code": code}, follow=True)

    assert response.redirect_chain == [(f"/me/#method-{method.pk}", 302)]
    assert "+15550100077 is verified already." in text(response)


def test_sending_the_code_again_says_when_its_limit_is_reached(
    me, rita, twilio, settings, django_capture_on_commit_callbacks
):
    settings.PAGING_VERIFY_SENDS_PER_METHOD = ((2, dt.timedelta(minutes=10)),)
    add(me, django_capture_on_commit_callbacks, address="+15550100123")
    method = ContactMethod.objects.get(user=rita)

    again = me.post(f"/me/methods/{method.pk}/send/", follow=True)
    refused = me.post(f"/me/methods/{method.pk}/send/", follow=True)

    assert "A fresh code is on its way" in text(again)
    assert (
        "No code was sent to +15550100123: at most 2 verification codes in 10 minutes to "
        "+15550100123; try again after"
    ) in text(refused)
    assert len(twilio.messages) == 2


def test_removing_a_method_removes_the_steps_that_use_it_and_says_so(me, rita):
    sms = ContactMethodFactory(user=rita, address="+15550100123")
    NotificationRule.objects.create(user=rita, contact_method=sms)
    NotificationRule.objects.create(user=rita, contact_method=sms, delay=dt.timedelta(minutes=5))

    response = me.post(f"/me/methods/{sms.pk}/remove/", follow=True)

    assert "Removed SMS to +15550100123, and the 2 steps of your rules using it." in text(response)
    assert not ContactMethod.objects.filter(pk=sms.pk).exists()
    assert not NotificationRule.objects.filter(user=rita).exists()


def test_rules_show_as_a_timeline_and_a_step_is_added_and_removed(me, rita):
    sms = ContactMethodFactory(user=rita, address="+15550100123")
    mail = ContactMethodFactory(user=rita, kind="email", address="rita@example.com")
    call = ContactMethodFactory(user=rita, kind="voice", address="+15550100124", verified=False)
    NotificationRule.objects.create(user=rita, contact_method=sms)
    NotificationRule.objects.create(user=rita, contact_method=mail)

    added = me.post("/me/rules/", {"contact_method": call.pk, "delay": "2m"}, follow=True)

    words = text(added)
    assert "Step added." in words
    assert (
        "At once: SMS to +15550100123 Remove E-mail to rita@example.com Remove "
        "After 2 minutes: Voice call to +15550100124 (not verified yet: skipped) Remove"
    ) in words
    rule = NotificationRule.objects.get(contact_method=call)
    assert rule.delay == dt.timedelta(minutes=2)

    removed = me.post(f"/me/rules/{rule.pk}/remove/", follow=True)
    assert "After 2 minutes" not in text(removed).split("Step removed.")[1]
    assert not NotificationRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    ("delay", "words"),
    [
        ("soon", "After: Give a duration like 30s, 5m, 1h30m or 2d."),
        ("400d", "Use at most 366 days."),
        ("-5m", "After: Give a duration like 30s, 5m, 1h30m or 2d."),
    ],
)
def test_a_bad_step_is_refused_in_words_and_nothing_is_stored(me, rita, delay, words):
    sms = ContactMethodFactory(user=rita)

    response = me.post("/me/rules/", {"contact_method": sms.pk, "delay": delay})

    assert response.status_code == 400
    assert words in text(response)
    assert not NotificationRule.objects.exists()


def test_a_step_with_someone_elses_contact_method_is_refused(me, rita, sam):
    theirs = ContactMethodFactory(user=sam)

    response = me.post("/me/rules/", {"contact_method": theirs.pk, "delay": "0"})

    assert response.status_code == 400
    assert "Choose one of your own contact methods." in text(response)
    assert not NotificationRule.objects.exists()


def test_a_test_page_pages_me_through_my_verified_methods_and_says_how(me, rita):
    ContactMethodFactory(user=rita, address="+15550100123")
    ContactMethodFactory(user=rita, address="+15550100124", verified=False)

    response = me.post("/me/test-page/", follow=True)

    incident = Incident.objects.get(summary__startswith="TEST PAGE for Rita Reyes")
    assert f"Test page sent as incident #{incident.pk}: SMS to +15***23 at once" in text(response)
    sent = Notification.objects.filter(incident=incident)
    assert [(n.user, n.address) for n in sent] == [(rita, "+15550100123")]


def test_a_test_page_with_nothing_verified_is_refused_in_words(me, rita):
    ContactMethodFactory(user=rita, verified=False)

    response = me.post("/me/test-page/", follow=True)

    assert "No test page sent: none of your contact methods is verified yet." in text(response)
    assert not Incident.objects.exists()


def test_my_calendar_feed_is_created_renewed_and_revoked(me, rita):
    created = me.post("/me/feed/", follow=True)
    feed = CalendarFeed.objects.get(user=rita)
    assert feed.created_by == rita
    assert f'value="{feed.url}" readonly' in created.content.decode()
    assert 'data-copy="feed-url" hidden' in created.content.decode()

    renewed = me.post("/me/feed/", follow=True)
    new = CalendarFeed.objects.get(user=rita, revoked_at__isnull=True)
    assert new.pk != feed.pk and new.url in renewed.content.decode()
    assert feed.url not in renewed.content.decode()
    assert me.get(urlsplit(feed.url).path).status_code == 404

    revoked = me.post("/me/feed/revoke/", follow=True)
    assert "Your calendar feed is revoked" in text(revoked)
    assert not CalendarFeed.objects.filter(revoked_at__isnull=True).exists()
    assert me.get(urlsplit(new.url).path).status_code == 404


def test_a_new_api_token_is_shown_once_and_never_stored_or_cached(me, rita):
    response = me.post("/me/tokens/", {"name": "CI deploys"})

    raw = re.search(r'id="new-token" value="(oc_[^"]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=rita)
    assert token.digest == token_digest(raw) and token.name == "CI deploys"
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "shown only this once" in text(response)
    assert all(raw not in str(v) for v in me.session.values())
    assert all(raw not in c.value for c in response.cookies.values())
    again = me.get("/me/")
    assert raw not in again.content.decode()
    assert f"CI deploys {token.hint}… Created" in text(again) and "never used" in text(again)
    assert bearer(raw).status_code == 200


def test_a_token_without_a_name_is_refused_in_words(me):
    response = me.post("/me/tokens/", {"name": "  "})

    assert response.status_code == 400
    assert "Name the token, e.g. &#x27;CI deploys&#x27;." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_at_once(me, rita):
    token, raw = ApiToken.issue(user=rita, name="laptop")
    assert bearer(raw).status_code == 200

    response = me.post(f"/me/tokens/{token.pk}/revoke/", follow=True)

    assert f"Revoked the token “laptop” ({token.hint}…)." in text(response)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "laptop" not in text(response).split("My API tokens")[1]
    assert bearer(raw).status_code == 401


def test_my_time_zone_is_saved_and_every_page_then_uses_it(me, rita, incident):
    response = me.post("/me/zone/", {"time_zone": "Asia/Kolkata"}, follow=True)

    assert "Times now show in Asia/Kolkata." in text(response)
    rita.refresh_from_db()
    assert rita.time_zone == "Asia/Kolkata"
    page = me.get(f"/incidents/{incident.pk}/")
    assert "Times in Asia/Kolkata." in text(page)
    local = incident.created_at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert local.strftime("%H:%M") in text(page)


def test_an_unknown_time_zone_is_refused_in_words(me, rita):
    response = me.post("/me/zone/", {"time_zone": "Mars/Olympus_Mons"})

    assert response.status_code == 400
    assert "Choose a time zone from the list, such as Europe/Berlin." in text(response)
    rita.refresh_from_db()
    assert rita.time_zone == "UTC"


@pytest.mark.parametrize(
    "action",
    ["method-verify", "method-send", "method-remove", "rule-remove", "token-revoke"],
)
def test_someone_elses_row_is_not_found_and_left_alone(me, sam, action):
    method = ContactMethodFactory(user=sam, verified=False)
    rule = NotificationRule.objects.create(user=sam, contact_method=method)
    token, _ = ApiToken.issue(user=sam, name="sam's")
    paths = {
        "method-verify": f"/me/methods/{method.pk}/verify/",
        "method-send": f"/me/methods/{method.pk}/send/",
        "method-remove": f"/me/methods/{method.pk}/remove/",
        "rule-remove": f"/me/rules/{rule.pk}/remove/",
        "token-revoke": f"/me/tokens/{token.pk}/revoke/",
    }

    response = me.post(paths[action], {"code": "123456"})

    assert response.status_code == 404
    method.refresh_from_db()
    token.refresh_from_db()
    assert NotificationRule.objects.filter(pk=rule.pk).exists()
    assert method.verify_sent_at is None and token.revoked_at is None


def test_revoking_my_feed_leaves_someone_elses_alone(me, sam):
    theirs = CalendarFeed.objects.create(user=sam, created_by=sam)

    me.post("/me/feed/revoke/")

    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def _me_queries(me, rita, count: int) -> int:
    """Give Rita `count` more contact methods, rule steps and tokens; return /me/'s queries."""
    for n in range(count):
        method = ContactMethodFactory(user=rita, verified=bool(n % 2))
        NotificationRule.objects.create(
            user=rita, contact_method=method, delay=dt.timedelta(minutes=n)
        )
        ApiToken.issue(user=rita, name=f"token {n}")
    with CaptureQueriesContext(connection) as queries:
        response = me.get("/me/")
    assert response.status_code == 200
    return len(queries)


def test_me_takes_the_same_queries_for_one_or_many_rows(me, rita, sam):
    CalendarFeed.objects.create(user=rita, created_by=rita)
    one = _me_queries(me, rita, 1)

    many = _me_queries(me, rita, 30)

    assert many == one, (one, many)
