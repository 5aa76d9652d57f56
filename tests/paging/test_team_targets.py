"""Levels that page a team: all its responders, or the next one in turn (round-robin).

Driven as workers drive escalation (ingest, escalate, deliver, sweep): what the fake Twilio
received and what the incident's timeline says.
"""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, Role, Team
from escalation.models import TeamMode, Tier, TierTeam
from escalation.planner import Position
from paging.engine import incident_escalate, sweep, tier_targets
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident, Notification, RoundRobinPick
from paging.notify.delivery import notification_deliver
from tests.factories import (
    ContactMethodFactory,
    IntegrationFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PHONES = {"ann": "+15550200001", "ben": "+15550200002", "cal": "+15550200003"}


def person(username: str, role: str = Role.RESPONDER, team: Team | None = None, **fields):
    user = UserFactory(username=username, first_name=username.title(), last_name="Lee", **fields)
    ContactMethodFactory(user=user, address=PHONES.get(username, f"+1555030{len(username):04d}"))
    if team is not None:
        Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Payments", slug="payments")


@pytest.fixture
def trio(team):
    """Ann, Ben and Cal respond in Payments (named so that username order is A, B, C)."""
    return [person(name, team=team) for name in ("cal", "ann", "ben")]


def service_paging(team: Team, mode: str):
    """A service whose one-level policy pages the team in `mode`."""
    policy = PolicyFactory(levels=[[]])
    TierTeam.objects.create(tier=policy.tiers.get(), team=team, mode=mode)
    return ServiceFactory(escalation_policy=policy)


def trigger(service, key: str = "") -> Incident:
    event = Event(action="trigger", summary="Disk full", severity="critical", dedup_key=key)
    return alert_ingest(integration=IntegrationFactory(service=service), event=event, payload={})


def run_due(incident: Incident) -> list[str]:
    return [notification_deliver(pk) for pk in incident_escalate(incident.pk)]


def paged(incident: Incident) -> list[str]:
    return sorted(n.user.username for n in Notification.objects.filter(incident=incident))


def timeline(incident: Incident) -> list[str]:
    return [e.message for e in incident.timeline.all()]


def test_all_responders_pages_responders_and_managers_but_not_observers_or_deactivated(
    twilio, team
):
    person("ann", team=team)
    person("ben", Role.MANAGER, team=team)
    person("cal", Role.OBSERVER, team=team)
    person("dee", team=team, is_active=False)
    person("eve")  # in no team
    incident = trigger(service_paging(team, TeamMode.ALL))

    run_due(incident)

    assert sorted(m.to for m in twilio.messages) == [PHONES["ann"], PHONES["ben"]]
    assert "Level 1 paged: Ann Lee (in Payments), Ben Lee (in Payments)" in timeline(incident)


def test_round_robin_across_three_responders_over_four_incidents_pages_a_b_c_a(twilio, team, trio):
    service = service_paging(team, TeamMode.ROUND_ROBIN)

    for n in range(4):
        run_due(trigger(service, key=f"disk-{n}"))

    assert [m.to for m in twilio.messages] == [
        PHONES["ann"],
        PHONES["ben"],
        PHONES["cal"],
        PHONES["ann"],
    ]
    first = Incident.objects.order_by("id").first()
    assert "Level 1 paged: Ann Lee (round-robin in Payments)" in timeline(first)


def test_a_retried_step_pages_the_same_person_once_and_moves_the_turn_once(twilio, team, trio):
    service = service_paging(team, TeamMode.ROUND_ROBIN)
    incident = trigger(service)
    tier = Tier.objects.get()
    firing = (Incident.objects.get(pk=incident.pk), Position(tier=0))

    # The engine resolving the same due level twice (a transaction retried) picks once.
    picks = [tier_targets(tier, timezone.now(), firing).people[0][0] for _ in range(2)]
    run_due(incident)
    run_due(incident)  # the task delivered again
    sweep()  # and the sweeper finding the incident

    assert [p.username for p in picks] == ["ann", "ann"]
    assert [m.to for m in twilio.messages] == [PHONES["ann"]]
    assert RoundRobinPick.objects.count() == 1
    assert TierTeam.objects.get().last_picked.username == "ann"
    run_due(trigger(service, key="next"))
    assert [m.to for m in twilio.messages][-1] == PHONES["ben"]  # no turn was skipped


def test_a_member_who_left_or_was_deactivated_is_skipped(twilio, team, trio):
    service = service_paging(team, TeamMode.ROUND_ROBIN)
    _, ben, cal = sorted(trio, key=lambda u: u.username)
    run_due(trigger(service, key="one"))  # Ann
    Membership.objects.filter(user=ben).delete()

    run_due(trigger(service, key="two"))
    cal.is_active = False
    cal.save()
    run_due(trigger(service, key="three"))

    assert [m.to for m in twilio.messages] == [PHONES["ann"], PHONES["cal"], PHONES["ann"]]


def test_a_team_with_nobody_to_page_is_skipped_on_the_timeline(twilio, team):
    person("obs", Role.OBSERVER, team=team)
    incident = trigger(service_paging(team, TeamMode.ROUND_ROBIN))

    run_due(incident)

    assert twilio.messages == []
    assert "Level 1 skipped: nobody to page in team Payments" in timeline(incident)
    assert not RoundRobinPick.objects.exists()


def unverify(user) -> None:
    """Leave `user` with contact methods but none verified (a number never confirmed)."""
    user.contact_methods.update(verified=False)


def test_a_responder_with_no_verified_method_is_passed_over_and_the_next_is_paged(
    twilio, team, trio
):
    ann, ben, _ = sorted(trio, key=lambda u: u.username)
    unverify(ann)
    incident = trigger(service_paging(team, TeamMode.ROUND_ROBIN))

    run_due(incident)

    assert [m.to for m in twilio.messages] == [PHONES["ben"]]
    assert (
        "Level 1 paged: Ben Lee (round-robin in Payments; "
        "Ann Lee passed over: no verified contact method)"
    ) in timeline(incident)
    assert TierTeam.objects.get().last_picked == ben


def test_the_turn_after_a_pass_over_continues_from_the_one_paged(twilio, team, trio):
    ann, _, _ = sorted(trio, key=lambda u: u.username)
    unverify(ann)
    service = service_paging(team, TeamMode.ROUND_ROBIN)

    incidents = [trigger(service, key=f"disk-{n}") for n in range(3)]
    for incident in incidents:
        run_due(incident)

    # Ben (Ann passed over), then Cal after Ben, then round to Ann again: passed over, Ben.
    assert [m.to for m in twilio.messages] == [PHONES["ben"], PHONES["cal"], PHONES["ben"]]
    assert "Level 1 paged: Cal Lee (round-robin in Payments)" in timeline(incidents[1])


def test_a_retried_step_after_a_pass_over_pages_the_same_person_once(twilio, team, trio):
    ann, _, _ = sorted(trio, key=lambda u: u.username)
    unverify(ann)
    service = service_paging(team, TeamMode.ROUND_ROBIN)
    incident = trigger(service)
    tier = Tier.objects.get()
    firing = (Incident.objects.get(pk=incident.pk), Position(tier=0))

    picks = [tier_targets(tier, timezone.now(), firing).people[0][0] for _ in range(2)]
    run_due(incident)
    run_due(incident)  # the task delivered again
    sweep()

    assert [p.username for p in picks] == ["ben", "ben"]
    assert [m.to for m in twilio.messages] == [PHONES["ben"]]
    assert [p.user.username for p in RoundRobinPick.objects.all()] == ["ben"]
    run_due(trigger(service, key="next"))
    assert [m.to for m in twilio.messages][-1] == PHONES["cal"]  # the turn moved once


def test_a_team_where_nobody_is_reachable_is_skipped_saying_why(twilio, team, trio):
    ann, ben, cal = sorted(trio, key=lambda u: u.username)
    unverify(ann)
    ben.contact_methods.all().delete()
    cal.contact_methods.update(sms_stopped_at=timezone.now())  # replied STOP
    incident = trigger(service_paging(team, TeamMode.ROUND_ROBIN))

    run_due(incident)

    assert twilio.messages == []
    assert (
        "Level 1 skipped: nobody reachable in team Payments (Ann Lee: no verified contact "
        "method, Ben Lee: no contact methods, Cal Lee: no usable contact method)"
    ) in timeline(incident)
    assert not RoundRobinPick.objects.exists()
    assert TierTeam.objects.get().last_picked is None


@pytest.mark.django_db(transaction=True)
def test_two_incidents_escalating_at_once_page_different_people(twilio, team, trio):
    if connection.vendor != "postgresql":
        # SQLite's shared in-memory test database refuses a second writer instead of waiting.
        pytest.skip("concurrent writers need PostgreSQL")
    service = service_paging(team, TeamMode.ROUND_ROBIN)
    incidents = [trigger(service, key=f"disk-{n}") for n in range(2)]
    start = threading.Barrier(2)

    def worker(incident: Incident) -> None:
        try:
            start.wait(timeout=10)
            incident_escalate(incident.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in incidents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(p.user.username for p in RoundRobinPick.objects.all()) == ["ann", "ben"]
    assert sorted(paged(i)[0] for i in incidents) == ["ann", "ben"]
    assert TierTeam.objects.get().last_picked.username == "ben"
