"""Acting by SMS reply, call key and e-mail link: accounts.access.may_act decides, in words.

A person paged by an incident may act on it even after leaving its team; someone it did not
page, outside its team, may not, whatever code or number they hold. Refusals change nothing.
"""

import re
import xml.etree.ElementTree as ET

import pytest

from accounts.models import Membership, Role, Team
from paging.models import Incident, NotificationRule
from paging.notify.bundles import bundle_code
from tests.factories import ContactMethodFactory, ServiceFactory, UserFactory
from tests.paging.notify.conftest import ALICE_PHONE, page, sms_reply
from tests.paging.test_escalation_engine import timeline, trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_left(alice, payments):
    """Alice was a responder of payments' team, and left it after being paged."""
    Membership.objects.create(team=payments.team, user=alice, role=Role.RESPONDER)

    def leave():
        Membership.objects.filter(user=alice).delete()

    return leave


def status(incident: Incident) -> str:
    incident.refresh_from_db()
    return incident.status


def test_sms_reply_of_someone_who_left_the_team_but_was_paged_acknowledges(
    webhooks, payments, alice, alice_left
):
    incident = page(payments)
    alice_left()

    _, answer = sms_reply(webhooks, "1a")

    assert f"Acknowledged #{incident.pk} payments" in answer
    assert status(incident) == "acknowledged"


def test_sms_reply_from_a_number_now_someone_elses_is_refused_in_words(webhooks, payments, alice):
    incident = page(payments)
    alice.contact_methods.all().delete()
    ContactMethodFactory(user=UserFactory(username="carol"), address=ALICE_PHONE)

    _, answer = sms_reply(webhooks, "1a")

    assert f"You may not act on #{incident.pk} payments." in answer
    assert status(incident) == "triggered"
    assert "Acknowledged" not in " ".join(timeline(incident))


def test_bundle_code_acts_only_on_the_incidents_the_person_may_act_on(webhooks, payments, alice):
    search_team = Team.objects.create(name="Search", slug="search")
    Membership.objects.create(team=search_team, user=alice, role=Role.RESPONDER)
    search = ServiceFactory(name="search", team=search_team)
    mine = page(payments)
    theirs = trigger(search, "Index stale")  # paged nobody: Alice may act as its responder
    code = bundle_code(phone=ALICE_PHONE, incidents=[mine, theirs])
    Membership.objects.filter(user=alice, team=search_team).delete()  # and now she may not

    _, answer = sms_reply(webhooks, f"{code}a")

    assert f"Acknowledged 1 incident: #{mine.pk}. You may not act on #{theirs.pk} search." in (
        answer
    )
    assert (status(mine), status(theirs)) == ("acknowledged", "triggered")


@pytest.fixture
def calls_alice(alice, alice_voice):
    NotificationRule.objects.create(user=alice, contact_method=alice_voice)


def said(twiml: str) -> str:
    return " ".join(e.text or "" for e in ET.fromstring(twiml).iter("Say"))


def test_call_key_of_someone_who_left_the_team_but_was_paged_acknowledges(
    webhooks, payments, calls_alice, alice_left
):
    incident = page(payments)
    alice_left()
    (call,) = webhooks.calls
    _, twiml = webhooks.answer_call(call)

    _, answer = webhooks.press(call, twiml, "4")

    assert said(answer) == f"Acknowledged incident {incident.pk}, payments. Goodbye."
    assert status(incident) == "acknowledged"


@pytest.fixture
def mailed_link(smtp, twilio, payments, alice, alice_email):
    """Page Alice by e-mail; return (incident, its Acknowledge link)."""
    NotificationRule.objects.create(user=alice, contact_method=alice_email)
    incident = page(payments)
    (message,) = smtp.messages
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    return incident, re.search(r"^Acknowledge: +(\S+)", text, re.MULTILINE)[1]


def test_email_link_of_someone_who_left_the_team_but_was_paged_acknowledges(
    mailed_link, client, alice_left
):
    incident, url = mailed_link
    alice_left()

    done = client.post(url)

    assert done.status_code == 200
    assert status(incident) == "acknowledged"
