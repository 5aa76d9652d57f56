"""An existing database upgraded to teams behaves exactly as before.

The database is migrated back to before the team migrations, today's demo data (`manage.py
demo`) is written there with the models of then, and the database is migrated to the latest.
Then a page, an acknowledgement and an override are replayed as a person would.
"""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import DEFAULT_TEAM_SLUG, Membership, Team
from escalation.models import EscalationPolicy
from paging.models import Incident, Integration, Service
from schedules.models import Override, Schedule
from tests.conftest import client_for
from tests.paging.test_escalation_engine import run_due

# The last migration of each app before teams (accounts 0004, paging 0021, schedules 0006 and
# escalation 0005 add them).
BEFORE = [
    ("accounts", "0003_apitoken_verbose_names_api"),
    ("paging", "0020_grafana_timestamped_signatures"),
    ("schedules", "0005_calendarfeed_created_by_roles"),
    ("escalation", "0004_levels_named_adm_policy"),
]
RESPONDERS = [
    ("alice", "Alice", "Adams", "+15550100001"),
    ("bob", "Bob", "Brown", "+15550100002"),
    ("carol", "Carol", "Chen", "+15550100003"),
]
# Tuesday 8 December 2026, 10:00 in New York: week 48 of the weekly rotation, Alice's turn.
NOW = dt.datetime(2026, 12, 8, 15, 0, tzinfo=dt.UTC)


def demo_then(apps) -> None:
    """Write what `manage.py demo` writes, with the models of before teams."""
    user, method, rule = (
        apps.get_model(*name.split("."))
        for name in ("accounts.User", "paging.ContactMethod", "paging.NotificationRule")
    )
    people = []
    for username, first, last, phone in RESPONDERS:
        person = user.objects.create(
            username=username, first_name=first, last_name=last, email=f"{username}@example.com"
        )
        sms = method.objects.create(user=person, kind="sms", address=phone, verified=True)
        rule.objects.create(user=person, contact_method=sms, delay=dt.timedelta(0))
        people.append(person)
    user.objects.create(username="admin", is_staff=True, is_superuser=True)
    schedule = apps.get_model("schedules.Schedule").objects.create(
        name="Primary on-call", time_zone="America/New_York"
    )
    layer = apps.get_model("schedules.Layer").objects.create(
        schedule=schedule, level=1, name="Weekly", shift_unit="weeks", handoff_date="2026-01-05"
    )
    for position, person in enumerate(people):
        apps.get_model("schedules.LayerMember").objects.create(
            layer=layer, user=person, position=position
        )
    policy = _policy_then(apps, schedule, people)
    service = apps.get_model("paging.Service").objects.create(
        name="Payments API", escalation_policy=policy
    )
    apps.get_model("paging.Integration").objects.create(
        service=service, name="Generic JSON", kind="generic"
    )


def _policy_then(apps, schedule, people):
    policy = apps.get_model("escalation.EscalationPolicy").objects.create(name="Default", repeat=1)
    tier = apps.get_model("escalation.Tier")
    minutes = dt.timedelta(minutes=2)
    tier.objects.create(policy=policy, position=0, ack_timeout=minutes).schedules.add(schedule)
    tier.objects.create(policy=policy, position=1, ack_timeout=minutes).users.add(people[2])
    tier.objects.create(policy=policy, position=2, ack_timeout=minutes).users.add(*people)
    return policy


@pytest.fixture
def upgraded(transactional_db):
    """Migrate back to before teams, write the demo data, and migrate to the latest."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    demo_then(executor.loader.project_state(BEFORE).apps)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_upgrade_puts_everything_in_the_default_team_staff_as_managers(upgraded):
    default = Team.objects.get(slug=DEFAULT_TEAM_SLUG)

    roles = dict(Membership.objects.values_list("user__username", "role"))

    assert roles == {
        "admin": "manager",
        "alice": "responder",
        "bob": "responder",
        "carol": "responder",
    }
    assert set(Team.objects.all()) == {default}
    for model in (Service, Schedule, EscalationPolicy):
        assert set(model.objects.values_list("team", flat=True)) == {default.pk}


def test_after_the_upgrade_a_page_an_ack_and_an_override_work_as_before(upgraded, client, twilio):
    integration = Integration.objects.get()
    alice = integration.service.escalation_policy.tiers.get(position=2).users.get(username="alice")

    with time_machine.travel(NOW, tick=False):
        sent = client.post(
            integration.url.removeprefix("http://testserver"),
            {"summary": "Disk full on db1", "severity": "critical", "dedup_key": "db1-disk"},
            content_type="application/json",
        )
        incident = Incident.objects.get()
        outcomes = run_due(incident)

    assert sent.status_code in (200, 201, 202)
    assert outcomes == ["sent"]
    assert [m.to for m in twilio.messages] == ["+15550100001"]  # the schedule's Alice, as before

    api = client_for(alice)  # a responder, not staff
    acked = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    taken = api.post(
        "/api/v1/overrides/",
        {
            "schedule": Schedule.objects.get().pk,
            "user": alice.pk,
            "start": "2026-12-21T14:00:00Z",
            "end": "2026-12-21T22:00:00Z",
        },
        format="json",
    )

    assert acked.status_code == 200
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    assert taken.status_code == 201
    assert Override.objects.get().user == alice
