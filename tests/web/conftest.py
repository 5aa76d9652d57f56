"""Personas for the responder app's tests: a Payments team with an incident, and outsiders."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Membership, Role, Team
from paging.models import Incident, Notification
from tests.factories import PolicyFactory, ServiceFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def payments_team(db):
    return Team.objects.create(name="Payments", slug="payments")


@pytest.fixture
def search_team(db):
    return Team.objects.create(name="Search", slug="search")


def member(team: Team, role: str, username: str, **fields):
    user = UserFactory(username=username, **fields)
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def rita(payments_team):
    """A responder of Payments."""
    return member(payments_team, Role.RESPONDER, "rita", first_name="Rita", last_name="Reyes")


@pytest.fixture
def otto(payments_team):
    """An observer of Payments."""
    return member(payments_team, Role.OBSERVER, "otto", first_name="Otto", last_name="Olsen")


@pytest.fixture
def pam(search_team):
    """A responder of Search whom the Payments incident paged (through its policy)."""
    return member(search_team, Role.RESPONDER, "pam", first_name="Pam", last_name="Park")


@pytest.fixture
def sam(search_team):
    """A responder of Search whom nothing of Payments paged."""
    return member(search_team, Role.RESPONDER, "sam", first_name="Sam", last_name="Stone")


@pytest.fixture
def root(db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def checkout(payments_team, rita):
    policy = PolicyFactory(levels=[[rita]], team=payments_team)
    return ServiceFactory(name="Checkout", team=payments_team, escalation_policy=policy)


def page(incident: Incident, person, *, tier: int = 0, status: str = "sent") -> Notification:
    """Record that `incident` paged `person` by SMS."""
    return Notification.objects.create(
        incident=incident,
        user=person,
        tier=tier,
        rule_key=f"sms-{person.pk}",
        kind="sms",
        address="+15550100077",
        due_at=timezone.now(),
        status=status,
    )


@pytest.fixture
def incident(checkout, rita, pam):
    """A triggered Payments incident at Level 1 that paged Rita and Pam."""
    found = Incident.objects.create(
        service=checkout,
        dedup_key="checkout-errors",
        summary="Checkout error rate above 5%",
        severity="critical",
        details={"host": "web-3", "error_rate": "7.2%"},
        links=[
            {"href": "https://grafana.example/d/checkout", "text": "Dashboard"},
            {"href": "javascript:alert(1)", "text": "Sneaky"},
        ],
        escalation_tier=0,
        escalation_due_at=timezone.now() + dt.timedelta(minutes=5),
    )
    page(found, rita)
    page(found, pam)
    return found
