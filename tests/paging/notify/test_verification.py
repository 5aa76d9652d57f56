"""A new number or address is paged only once verified: by SMS code, call key, or e-mail link."""

import importlib
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from paging.models import ContactMethod
from paging.notify.verification import contact_method_add
from tests.factories import ServiceFactory, UserFactory
from tests.paging.notify.conftest import page, sms_reply
from tests.paging.test_escalation_engine import timeline

pytestmark = pytest.mark.django_db
NEW_PHONE = "+15550100077"


@pytest.fixture
def dave(db):
    return UserFactory(username="dave", first_name="Dave", last_name="Diaz")


@pytest.fixture
def new_sms(twilio, dave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        method = contact_method_add(user=dave, kind="sms", address=NEW_PHONE)
    return method


def sent_code(twilio) -> str:
    (sms,) = twilio.wait_for_messages(1, to=NEW_PHONE, timeout=2)
    return re.search(r"code is (\d{6})", sms.body)[1]


def test_adding_a_number_texts_a_code_and_it_is_not_paged_yet(webhooks, new_sms, dave):
    code = sent_code(webhooks)
    service = ServiceFactory(name="payments", escalation_policy__levels=[[dave]])

    incident = page(service)

    assert len(code) == 6
    assert [m.to for m in webhooks.messages] == [NEW_PHONE]  # only the code
    assert "Dave Diaz not paged by SMS (mobile): not verified yet" in timeline(incident)


def test_replying_with_the_code_verifies_and_pages_follow(webhooks, new_sms, dave):
    code = sent_code(webhooks)

    _, answer = sms_reply(webhooks, code, phone=NEW_PHONE)

    assert "this number now receives on-call pages for Dave Diaz" in answer
    new_sms.refresh_from_db()
    assert new_sms.verified
    page(ServiceFactory(name="payments", escalation_policy__levels=[[dave]]))
    assert [m.to for m in webhooks.messages] == [NEW_PHONE, NEW_PHONE]


def test_wrong_codes_do_not_verify_and_wear_the_code_out(webhooks, new_sms):
    code = sent_code(webhooks)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [sms_reply(webhooks, wrong, phone=NEW_PHONE)[1] for _ in range(5)]
    _, late = sms_reply(webhooks, code, phone=NEW_PHONE)

    assert all("wrong or expired" in a for a in answers)
    assert "<Message>" not in late  # worn out: the number is unknown again
    new_sms.refresh_from_db()
    assert not new_sms.verified


def test_other_text_from_a_number_being_verified_asks_for_the_code(webhooks, new_sms):
    _, answer = sms_reply(webhooks, "hello", phone=NEW_PHONE)

    assert "Reply with the 6-digit verification code" in answer


def test_voice_number_is_verified_by_pressing_1(webhooks, dave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        method = contact_method_add(user=dave, kind="voice", address=NEW_PHONE)
    (call,) = webhooks.calls

    _, twiml = webhooks.answer_call(call)
    _, answer = webhooks.press(call, twiml, "1")

    assert "press 1" in twiml
    assert "This number now receives on-call pages" in answer
    method.refresh_from_db()
    assert method.verified


def test_email_link_confirms_on_get_and_verifies_on_post(
    smtp, dave, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        method = contact_method_add(user=dave, kind="email", address="dave@example.com")
    (message,) = smtp.messages
    url = re.search(r"http://testserver(/verify/\S+/)", message.get_payload(decode=True).decode())[
        1
    ]

    assert client.get(url).status_code == 200
    method.refresh_from_db()
    assert not method.verified
    assert client.post(url).status_code == 200
    method.refresh_from_db()
    assert method.verified
    assert client.post(url).status_code == 404  # used up


def test_command_verifies_with_the_code_or_outright(twilio, new_sms):
    code = sent_code(twilio)
    out = io.StringIO()

    wrong = f"{(int(code) + 1) % 10**6:06d}"

    with pytest.raises(CommandError, match="wrong or expired"):
        call_command("contact_verify", str(new_sms.pk), "--code", wrong)
    call_command("contact_verify", str(new_sms.pk), "--code", code, stdout=out)

    assert "verified" in out.getvalue()
    new_sms.refresh_from_db()
    assert new_sms.verified


def test_admin_marks_verified_and_sends_codes(twilio, dave, client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    add_url = reverse("admin:paging_contactmethod_add")

    response = client.post(
        add_url, {"user": dave.pk, "name": "mobile", "kind": "sms", "address": NEW_PHONE}
    )
    assert response.status_code == 302
    method = ContactMethod.objects.get(address=NEW_PHONE)
    assert not method.verified
    assert [m.to for m in twilio.messages] == [NEW_PHONE]

    changelist = reverse("admin:paging_contactmethod_changelist")
    client.post(changelist, {"action": "mark_verified", "_selected_action": [method.pk]})

    method.refresh_from_db()
    assert method.verified and method.verified_at is not None


def test_upgrade_marks_existing_contact_methods_verified(dave):
    from django.apps import apps

    migration = importlib.import_module("paging.migrations.0004_channels")
    before = ContactMethod.objects.create(user=dave, kind="sms", address=NEW_PHONE)

    migration.verify_existing(apps, schema_editor=None)

    before.refresh_from_db()
    assert before.verified


def test_a_provider_failure_does_not_undo_adding_a_method(
    twilio, dave, django_capture_on_commit_callbacks
):
    twilio.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")

    with django_capture_on_commit_callbacks(execute=True):
        method = contact_method_add(user=dave, kind="sms", address=NEW_PHONE)

    assert ContactMethod.objects.filter(pk=method.pk, verified=False).exists()
    call_command("contact_verify", str(method.pk), "--send", stdout=io.StringIO())
    assert sent_code(twilio)
