"""Verification codes cost money: sends are limited per contact method and per person, and
neither a resend nor a new code gives back the guesses already spent."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from paging.notify.verification import contact_method_add
from paging.tasks import replies_prune
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.paging.notify.conftest import sms_reply

pytestmark = pytest.mark.django_db
NEW_PHONE = "+15550100077"
TEN_MINUTES = dt.timedelta(minutes=10)
DAY = dt.timedelta(hours=24)


@pytest.fixture
def dave(db):
    return UserFactory(username="dave", first_name="Dave", last_name="Diaz")


def add(user, django_capture_on_commit_callbacks, address: str = NEW_PHONE, kind: str = "sms"):
    """Add a contact method the way admin and the API do: its first code goes out on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        return contact_method_add(user=user, kind=kind, address=address)


def resend(api, method):
    return api.post(f"/api/v1/contact-methods/{method.pk}/send-verification/")


def test_fourth_verification_sms_in_ten_minutes_is_429_and_not_sent(
    twilio, dave, django_capture_on_commit_callbacks
):
    method = add(dave, django_capture_on_commit_callbacks)  # the first code
    api = client_for(dave)

    answers = [resend(api, method) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert len(twilio.messages) == 3
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 600
    body = refused.json()
    assert body["limited"] == "contact_method"
    assert body["retry_after"] == int(refused["Retry-After"])
    assert "at most 3 verification codes in 10 minutes" in body["error"]


def test_daily_limit_holds_after_the_ten_minute_windows(
    twilio, dave, django_capture_on_commit_callbacks
):
    method = add(dave, django_capture_on_commit_callbacks)
    api = client_for(dave)
    start = timezone.now()
    statuses = []
    for n in range(11):
        # Every ten minutes three codes: the short window never refuses, the day does.
        with time_machine.travel(start + (n // 3 + 1) * (TEN_MINUTES + dt.timedelta(seconds=1))):
            statuses.append(resend(api, method).status_code)

    assert statuses == [200] * 9 + [429, 429]
    assert len(twilio.messages) == 10
    with time_machine.travel(start + DAY + dt.timedelta(hours=1)):
        assert resend(api, method).status_code == 200


def test_codes_to_many_numbers_of_one_person_hit_the_person_limit(
    twilio, dave, settings, django_capture_on_commit_callbacks
):
    settings.PAGING_VERIFY_SENDS_PER_PERSON = ((4, TEN_MINUTES),)
    methods = [add(dave, django_capture_on_commit_callbacks, f"+1555010009{n}") for n in range(4)]

    refused = resend(client_for(dave), methods[0])

    assert refused.status_code == 429
    assert refused.json()["limited"] == "person"
    assert "at most 4 verification codes in 10 minutes to Dave Diaz" in refused.json()["error"]
    assert len(twilio.messages) == 4


def test_deleting_and_adding_the_number_again_does_not_reset_its_limit(
    twilio, dave, django_capture_on_commit_callbacks
):
    for _ in range(3):
        add(dave, django_capture_on_commit_callbacks).delete()

    method = add(dave, django_capture_on_commit_callbacks)

    assert len(twilio.messages) == 3
    assert resend(client_for(dave), method).status_code == 429


def sent_code(twilio) -> str:
    return re.search(r"code is (\d{6})", twilio.messages[-1].body)[1]


def test_a_resend_does_not_give_back_the_five_wrong_guesses(
    webhooks, dave, django_capture_on_commit_callbacks
):
    method = add(dave, django_capture_on_commit_callbacks)
    wrong = f"{(int(sent_code(webhooks)) + 1) % 10**6:06d}"
    for _ in range(5):
        sms_reply(webhooks, wrong, phone=NEW_PHONE)

    assert resend(client_for(dave), method).status_code == 200
    _, answer = sms_reply(webhooks, sent_code(webhooks), phone=NEW_PHONE)

    assert "<Message>" not in answer  # out of guesses: the right code counts no more
    method.refresh_from_db()
    assert not method.verified
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
        assert resend(client_for(dave), method).status_code == 200
        _, answer = sms_reply(webhooks, sent_code(webhooks), phone=NEW_PHONE)
    assert "this number now receives on-call pages" in answer


def test_admin_send_action_says_in_words_that_the_limit_is_reached(
    twilio, dave, client, django_capture_on_commit_callbacks
):
    method = add(dave, django_capture_on_commit_callbacks)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = reverse("admin:paging_contactmethod_changelist")
    action = {"action": "send_verification", "_selected_action": [method.pk]}

    client.post(changelist, action)
    client.post(changelist, action)
    page = client.post(changelist, action, follow=True).content.decode()

    assert len(twilio.messages) == 3
    assert "code not sent: at most 3 verification codes in 10 minutes" in page
    assert "0 verification code(s) sent." in page


def test_command_send_says_in_words_that_the_limit_is_reached(
    twilio, dave, django_capture_on_commit_callbacks
):
    method = add(dave, django_capture_on_commit_callbacks)
    for _ in range(2):
        call_command("contact_verify", str(method.pk), "--send", stdout=io.StringIO())

    with pytest.raises(CommandError, match="at most 3 verification codes in 10 minutes"):
        call_command("contact_verify", str(method.pk), "--send", stdout=io.StringIO())
    assert len(twilio.messages) == 3


def test_hourly_prune_forgets_verification_sends_only_after_a_day(
    twilio, dave, django_capture_on_commit_callbacks
):
    add(dave, django_capture_on_commit_callbacks)
    now = timezone.now()

    with time_machine.travel(now + dt.timedelta(hours=23), tick=False):
        kept = replies_prune()
    with time_machine.travel(now + DAY + dt.timedelta(seconds=1), tick=False):
        pruned = replies_prune()

    assert (kept["verification sends"], pruned["verification sends"]) == (0, 1)


def test_a_code_after_five_wrong_ones_is_refused_saying_until_when(
    twilio, dave, django_capture_on_commit_callbacks
):
    method = add(dave, django_capture_on_commit_callbacks)
    api = client_for(dave)
    wrong = f"{(int(sent_code(twilio)) + 1) % 10**6:06d}"
    verify = f"/api/v1/contact-methods/{method.pk}/verify/"
    first = api.post(verify, {"code": wrong})
    for _ in range(4):
        api.post(verify, {"code": wrong})

    refused = api.post(verify, {"code": sent_code(twilio)})

    assert first.json() == {"code": "wrong or expired; send a fresh one"}
    assert refused.json()["code"].startswith(
        "too many wrong codes: every code, a fresh one too, is refused until "
    )
