"""People in admin: their notification rules as a sentence, and a test page sent from the list."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from paging.models import ContactMethod, Incident, Notification, NotificationRule
from paging.notify.delivery import notification_deliver
from paging.rules import rules_sentence
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = reverse("admin:accounts_user_changelist")


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def sms_then_call(alice):
    """Alice's rules: an SMS at once, a call to the same number after 2 minutes."""
    sms = alice.contact_methods.get()
    call = ContactMethod.objects.create(
        user=alice, kind="voice", address=sms.address, verified=True
    )
    NotificationRule.objects.create(user=alice, contact_method=sms, delay=dt.timedelta(0))
    NotificationRule.objects.create(user=alice, contact_method=call, delay=dt.timedelta(minutes=2))
    return alice


SENTENCE = "SMS to +15***01 at once, then a call after 2 minutes"


def test_rules_read_as_a_sentence_with_the_number_masked_like_the_logs(sms_then_call):
    assert rules_sentence(sms_then_call) == SENTENCE


def test_person_without_own_rules_reads_the_site_default(alice, settings):
    settings.PAGING_DEFAULT_RULES = [("sms", dt.timedelta(0))]

    assert rules_sentence(alice) == "SMS to +15***01 at once (the site default)"


def test_person_who_cannot_be_reached_is_told_so():
    assert rules_sentence(UserFactory()) == "Nobody can reach this person: no contact methods"


def test_rule_list_and_person_page_show_the_rules_sentence(admin_client, sms_then_call):
    rules = admin_client.get(reverse("admin:paging_notificationrule_changelist"))
    person = admin_client.get(reverse("admin:accounts_user_change", args=[sms_then_call.pk]))

    assert SENTENCE in rules.content.decode()
    assert SENTENCE in person.content.decode()


def test_test_page_action_on_people_pages_each_and_says_what_was_sent(
    admin_client, twilio, alice, bob
):
    chosen = {"action": "test_page", "_selected_action": [alice.pk, bob.pk]}

    done = admin_client.post(PEOPLE, chosen, follow=True).content.decode()

    for person, number in ((alice, "+15***01"), (bob, "+15***02")):
        incident = Incident.objects.get(summary__startswith=f"TEST PAGE for {person}")
        assert f"Test page sent to {person} as incident #{incident.pk}: SMS to {number}" in done
    for notification in Notification.objects.all():
        assert notification_deliver(notification.pk) == "sent"
    assert sorted(m.to for m in twilio.messages) == ["+15550100001", "+15550100002"]


def test_test_page_action_on_people_names_those_who_cannot_be_reached(admin_client, alice):
    ghost = UserFactory(username="ghost", first_name="Gus", last_name="Ghost")
    unproven = UserFactory(username="una", first_name="Una", last_name="Unproven")
    ContactMethodFactory(user=unproven, verified=False)
    chosen = {"action": "test_page", "_selected_action": [alice.pk, ghost.pk, unproven.pk]}

    done = admin_client.post(PEOPLE, chosen, follow=True).content.decode()

    assert "Not sent to Gus Ghost: no verified contact methods." in done
    assert "Not sent to Una Unproven: no verified contact methods." in done
    assert Incident.objects.filter(summary__startswith="TEST PAGE for Alice Adams").exists()


def _rule_list_queries(admin_client, people: int) -> int:
    """Give `people` more people a rule each; return the queries the rule list then takes."""
    for n in range(people):
        person = UserFactory(username=f"p{people}-{n}")
        method = ContactMethod.objects.create(user=person, kind="sms", address=f"+1555020{n:04d}")
        NotificationRule.objects.create(user=person, contact_method=method)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:paging_notificationrule_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_rule_list_words_everyones_rules_in_the_same_few_queries(admin_client):
    few = _rule_list_queries(admin_client, 2)

    assert _rule_list_queries(admin_client, 8) == few
