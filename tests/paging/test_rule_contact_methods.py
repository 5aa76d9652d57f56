"""A notification rule pages its own person's contact method, whichever way it was made.

Admin, the API and `oncall apply` check it with the model's own rule, and the database refuses
anything that skips them; the migration that brought the check removed the rules that broke it.
"""

import datetime as dt
import html
import io
import textwrap

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from accounts.models import User
from paging.models import ContactMethod, NotificationRule
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOT_BOBS = "Choose one of Bob Brown's contact methods: this one is Alice Adams's."


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def only_method(person: User) -> ContactMethod:
    return ContactMethod.objects.get(user=person)


def test_admin_refuses_rule_with_another_persons_contact_method(client, root, alice, bob):
    client.force_login(root)

    response = client.post(
        reverse("admin:paging_notificationrule_add"),
        {"user": bob.pk, "contact_method": only_method(alice).pk, "delay": "00:00:00"},
    )

    assert response.status_code == 200  # the form again, not a redirect
    assert response.context["adminform"].form.errors == {"contact_method": [NOT_BOBS]}
    assert NOT_BOBS in html.unescape(response.content.decode())
    assert not NotificationRule.objects.exists()


def test_admin_refuses_changing_a_rule_to_another_persons_contact_method(client, root, alice, bob):
    client.force_login(root)
    rule = NotificationRule.objects.create(user=bob, contact_method=only_method(bob))

    response = client.post(
        reverse("admin:paging_notificationrule_change", args=[rule.pk]),
        {"user": bob.pk, "contact_method": only_method(alice).pk, "delay": "00:00:00"},
    )

    assert response.context["adminform"].form.errors == {"contact_method": [NOT_BOBS]}
    assert NotificationRule.objects.get().contact_method == only_method(bob)


def test_api_refuses_rule_with_another_persons_contact_method_in_the_same_words(root, alice, bob):
    staff = client_for(root)
    rule = NotificationRule.objects.create(user=alice, contact_method=only_method(alice))

    created = staff.post(
        "/api/v1/notification-rules/",
        {"user": bob.pk, "contact_method": only_method(alice).pk},
        format="json",
    )
    handed = staff.patch(f"/api/v1/notification-rules/{rule.pk}/", {"user": bob.pk}, format="json")

    assert (created.status_code, created.json()) == (400, {"contact_method": [NOT_BOBS]})
    assert (handed.status_code, handed.json()) == (400, {"contact_method": [NOT_BOBS]})
    assert NotificationRule.objects.get().user == alice


def test_apply_gives_each_person_rules_on_their_own_contact_methods(tmp_path):
    # Both call a method "mobile": each rule names the one of its own person.
    path = tmp_path / "oncall.yaml"
    path.write_text(
        textwrap.dedent(
            """
            users:
              - username: alice
                name: Alice Adams
                contact_methods:
                  - {name: mobile, type: sms, address: "+15550100001", verified: true}
                notification_rules:
                  - {contact_method: mobile, after: 0s}
              - username: bob
                name: Bob Brown
                contact_methods:
                  - {name: mobile, type: sms, address: "+15550100002", verified: true}
                notification_rules:
                  - {contact_method: mobile, after: 1m}
            """
        )
    )

    call_command("oncall", "apply", str(path), stdout=io.StringIO())
    exported = io.StringIO()
    call_command("oncall", "export", stdout=exported)

    rules = NotificationRule.objects.order_by("delay")
    assert [(r.user.username, r.contact_method.address) for r in rules] == [
        ("alice", "+15550100001"),
        ("bob", "+15550100002"),
    ]
    assert exported.getvalue().count("- {contact_method: mobile, after: ") == 2


def test_apply_finds_a_rules_contact_method_by_the_name_export_gave_it(tmp_path):
    bob = UserFactory(username="bob", first_name="Bob", last_name="Brown", password="!")
    bob.contact_methods.create(name="mobile", kind="sms", address="+15550100002", verified=True)
    mail = bob.contact_methods.create(
        name="mobile", kind="email", address="bob@example.com", verified=True
    )
    NotificationRule.objects.create(user=bob, contact_method=mail)
    exported = io.StringIO()
    call_command("oncall", "export", stdout=exported)
    path = tmp_path / "oncall.yaml"
    # Two methods share a name, so export calls the second "mobile-2"; a later edit names it so.
    path.write_text(exported.getvalue().replace("after: 0s", "after: 5m"))

    out = io.StringIO()
    call_command("oncall", "apply", str(path), stdout=out)

    assert "updated user bob" in out.getvalue()
    rule = NotificationRule.objects.get()
    assert (rule.contact_method, rule.delay) == (mail, dt.timedelta(minutes=5))


def test_database_refuses_a_rule_on_another_persons_contact_method_whatever_the_path(alice, bob):
    rule = NotificationRule.objects.create(user=bob, contact_method=only_method(bob))
    bypasses = [
        lambda: NotificationRule.objects.create(user=bob, contact_method=only_method(alice)),
        lambda: NotificationRule.objects.filter(pk=rule.pk).update(
            contact_method=only_method(alice)
        ),
        lambda: NotificationRule.objects.filter(pk=rule.pk).update(user=alice),
    ]

    for bypass in bypasses:
        with pytest.raises(IntegrityError), transaction.atomic():
            bypass()

    assert list(NotificationRule.objects.values_list("user", "contact_method")) == [
        (bob.pk, only_method(bob).pk)
    ]


def test_a_contact_method_given_to_another_person_takes_its_rules_along(alice, bob):
    phone = only_method(bob)
    NotificationRule.objects.create(user=bob, contact_method=phone)

    ContactMethod.objects.filter(pk=phone.pk).update(user=alice)

    assert list(NotificationRule.objects.values_list("user", "contact_method")) == [
        (alice.pk, phone.pk)
    ]


BEFORE = [("paging", "0013_inbound_messages")]


@pytest.fixture
def before_the_check(transactional_db):
    """Migrate the database back to before the check; return the models of then."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_migration_removes_and_reports_rules_on_another_persons_contact_method(
    before_the_check, capsys
):
    old = before_the_check
    user, method, rule = (old.get_model(*name.split(".")) for name in MODELS)
    alice = user.objects.create(username="alice", first_name="Alice", last_name="Adams")
    bob = user.objects.create(username="bob", first_name="Bob", last_name="Brown")
    alices = method.objects.create(user=alice, name="mobile", kind="sms", address="+15550100001")
    bobs = method.objects.create(user=bob, name="desk", kind="voice", address="+15550100002")
    kept = rule.objects.create(user=bob, contact_method=bobs, delay=dt.timedelta(0))
    wrong = rule.objects.create(user=bob, contact_method=alices, delay=dt.timedelta(minutes=2))

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(NotificationRule.objects.values_list("pk", flat=True)) == [kept.pk]
    said = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert said == [
        f"Removed notification rule {wrong.pk} of bob (after 0:02:00): its contact method "
        "(SMS mobile) is alice's, so bob's pages went to alice.",
        "1 notification rule removed: re-create it with one of its person's own contact methods.",
    ]


MODELS = ("accounts.User", "paging.ContactMethod", "paging.NotificationRule")
