"""Two teams, Payments and Search, each with a service, and the people of the audit log tests."""

import pytest

from accounts.models import Membership, Role, Team
from tests.factories import ServiceFactory, UserFactory


@pytest.fixture
def teams(db) -> dict[str, Team]:
    return {
        "payments": Team.objects.create(name="Payments", slug="payments"),
        "search": Team.objects.create(name="Search", slug="search"),
    }


@pytest.fixture
def services(teams):
    """A service of each team (made before any test's clock starts: their entries exist)."""
    return {slug: ServiceFactory(name=slug, team=team) for slug, team in teams.items()}


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def member(username: str, team: Team, role: str, **fields):
    user = UserFactory(username=username, **fields)
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def manager(teams):
    """Maggie manages Payments (staff, so admin lets her in)."""
    return member("maggie", teams["payments"], Role.MANAGER, is_staff=True)


@pytest.fixture
def responder(teams):
    return member("rick", teams["payments"], Role.RESPONDER)
