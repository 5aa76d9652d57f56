"""accounts/access.py, the one place that decides who may read, change and act."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import access
from accounts.models import Membership, Role, Team
from paging.models import Incident, Integration, Notification, Service
from schedules.models import Schedule
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def payments():
    return Team.objects.create(name="Payments", slug="payments")


@pytest.fixture
def search():
    return Team.objects.create(name="Search", slug="search")


def member(team: Team, role: str, name: str):
    user = UserFactory(username=name)
    Membership.objects.create(team=team, user=user, role=role)
    return user


def incident_on(service: Service) -> Incident:
    return Incident.objects.create(service=service, dedup_key="k", summary="Disk full")


def test_a_manager_changes_their_teams_objects_and_no_other_teams(payments, search):
    manager = member(payments, Role.MANAGER, "mia")
    ours = ServiceFactory(name="Checkout", team=payments)
    theirs = ServiceFactory(name="Indexer", team=search)

    assert access.may_configure(manager, ours)
    assert not access.may_configure(manager, theirs)
    assert list(access.configurable(manager, Service.objects.all())) == [ours]
    assert access.may_configure_team(manager, payments)
    assert not access.may_configure_team(manager, search)


def test_responders_and_observers_read_their_team_but_change_nothing(payments):
    service = ServiceFactory(team=payments)
    for role in (Role.RESPONDER, Role.OBSERVER):
        person = member(payments, role, f"p-{role}")
        assert access.may_read(person, service)
        assert not access.may_configure(person, service)


def test_other_teams_incidents_and_schedules_are_readable_only_while_reading_is_open(
    payments, search, settings
):
    outsider = member(search, Role.RESPONDER, "sam")
    service = ServiceFactory(team=payments)
    incident = incident_on(service)
    schedule = Schedule.objects.create(name="Payments primary", team=payments)

    settings.TEAMS_OPEN_READ = True
    assert access.may_read(outsider, incident) and access.may_read(outsider, schedule)
    assert not access.may_read(outsider, service)  # services are not open to other teams

    settings.TEAMS_OPEN_READ = False
    assert not access.may_read(outsider, incident)
    assert not access.may_read(outsider, schedule)
    assert not access.readable(outsider, Incident.objects.all()).exists()


def test_integrations_never_reach_another_team(payments, search, settings):
    settings.TEAMS_OPEN_READ = True
    outsider = member(search, Role.MANAGER, "sam")
    IntegrationFactory(service=ServiceFactory(team=payments))

    assert not access.readable(outsider, Integration.objects.all()).exists()


def test_acting_on_an_incident_needs_a_responder_of_its_team_or_having_been_paged(payments, search):
    incident = incident_on(ServiceFactory(team=payments))
    responder = member(payments, Role.RESPONDER, "rita")
    observer = member(payments, Role.OBSERVER, "otto")
    outsider = member(search, Role.RESPONDER, "sam")

    assert access.may_act(responder, incident)
    assert not access.may_act(observer, incident)
    assert not access.may_act(outsider, incident)

    Notification.objects.create(
        incident=incident,
        user=outsider,
        tier=0,
        rule_key="r",
        kind="sms",
        address="+15550100009",
        due_at=timezone.now(),
    )
    assert access.may_act(outsider, incident)
    assert access.readable(outsider, Incident.objects.all()).get() == incident


def test_a_deactivated_person_may_do_nothing(payments):
    manager = member(payments, Role.MANAGER, "mia")
    service = ServiceFactory(team=payments)
    manager.is_active = False
    manager.save()

    assert not access.may_configure(manager, service)
    assert not access.may_read(manager, service)
    assert not access.may_act(manager, incident_on(service))


def test_site_admins_do_everything_without_a_team(payments):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    service = ServiceFactory(team=payments)

    assert access.may_configure(root, service)
    assert access.may_act(root, incident_on(service))
    assert access.team_for_new(root, None).slug == "default"


def test_responders_cover_only_for_themselves_managers_for_anyone(payments, search):
    schedule = Schedule.objects.create(name="Payments primary", team=payments)
    responder = member(payments, Role.RESPONDER, "rita")
    colleague = member(payments, Role.RESPONDER, "carl")
    manager = member(payments, Role.MANAGER, "mia")
    outsider = member(search, Role.RESPONDER, "sam")

    assert access.may_cover(responder, schedule, responder)
    assert not access.may_cover(responder, schedule, colleague)
    assert access.may_cover(manager, schedule, colleague)
    assert not access.may_cover(outsider, schedule, outsider)


def test_a_new_object_joins_the_only_team_its_maker_manages_or_is_refused_in_words(
    payments, search
):
    manager = member(payments, Role.MANAGER, "mia")
    assert access.team_for_new(manager, None) == payments
    with pytest.raises(PermissionError, match="not a manager of Search"):
        access.team_for_new(manager, search)

    Membership.objects.create(team=search, user=manager, role=Role.MANAGER)
    access.forget_roles(manager)
    with pytest.raises(PermissionError, match="more than one"):
        access.team_for_new(manager, None)

    responder = member(payments, Role.RESPONDER, "rita")
    with pytest.raises(PermissionError, match="not a manager of any team"):
        access.team_for_new(responder, None)


def test_contact_details_are_managed_by_oneself_and_ones_team_managers_only(payments, search):
    responder = member(payments, Role.RESPONDER, "rita")
    manager = member(payments, Role.MANAGER, "mia")
    other_manager = member(search, Role.MANAGER, "sam")

    assert access.may_manage_person(responder, responder)
    assert access.may_manage_person(manager, responder)
    assert not access.may_manage_person(other_manager, responder)
    assert not access.may_manage_person(responder, manager)
    assert set(access.manageable_people(manager)) == {manager, responder}


def test_checking_many_rows_reads_the_roles_once(payments):
    manager = member(payments, Role.MANAGER, "mia")
    services = [ServiceFactory(name=f"s{n}", team=payments) for n in range(20)]

    with CaptureQueriesContext(connection) as queries:
        assert all(access.may_configure(manager, s) for s in services)

    assert len(queries) == 1
