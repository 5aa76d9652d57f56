"""Every API route, for every persona, gets the answer the rules of teams give (accounts/access.py).

The objects behind the routes belong to the Payments team (its service, policy and schedule)
or to Alice, a responder in it (her contact methods, rules, tokens, feed, override). The
personas: anonymous, an observer, a responder and a manager of Payments, a manager of another
team (Search), and a site administrator. TEAMS_OPEN_READ is on (the default).

EXPECTED names, for each route's action, what each persona gets: OK (allowed: anything but
401, 403 and 404 — a body of `{}` may well be a 400), SEEN / HIDDEN (a list that does or does
not hold the object), 403 (may see it, may not do this) or 404 (may not even see it). A route
with no expectation fails the walk.
"""

import datetime as dt

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import Team
from audit.models import AuditEntry
from oncall.api import audit_router, router
from oncall.apibase import ModelPermissions
from schedules.models import Layer, LayerMember, Schedule
from tests.api_objects import one_of_each
from tests.conftest import client_for
from tests.factories import UserFactory, join

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "observer", "responder", "manager", "other manager", "site admin"]
SIGNED_IN = PERSONAS[1:]

OK, SEEN, HIDDEN = "ok", "seen", "hidden"


def _all(answer: str) -> dict[str, object]:
    return dict.fromkeys(SIGNED_IN, answer)


def _answers(observer, responder, manager, other, admin) -> dict[str, object]:
    return dict(zip(SIGNED_IN, (observer, responder, manager, other, admin), strict=True))


# The usual shapes, from the rules of the issue.
EVERYONE = _all(OK)
EVERYONE_SEES = _all(SEEN)
MAY_ADD = _answers(403, 403, OK, OK, OK)  # people who manage a team (the team is decided after)
ADMIN_ONLY = _answers(403, 403, 403, 403, OK)
# A team's rows that only its members read: the other team's manager does not see them.
TEAM_LIST = _answers(SEEN, SEEN, SEEN, HIDDEN, SEEN)
TEAM_READ = _answers(OK, OK, OK, 404, OK)
TEAM_CHANGE = _answers(403, 403, OK, 404, OK)
# Open to everyone signed in for reading (incidents, schedules): changing is still the team's.
OPEN_CHANGE = _answers(403, 403, OK, 403, OK)
# Integrations (their keys accept alerts) and Alice's own rows: her team's managers only.
MANAGERS_LIST = _answers(HIDDEN, HIDDEN, SEEN, HIDDEN, SEEN)
MANAGERS_ONLY = _answers(404, 404, OK, 404, OK)
ADMIN_LIST = _answers(HIDDEN, HIDDEN, HIDDEN, HIDDEN, SEEN)
ADMIN_OR_404 = _answers(404, 404, 404, 404, OK)


def _config(list_, read, change, add=MAY_ADD, **actions) -> dict[str, dict]:
    return {
        "list": list_,
        "retrieve": read,
        "create": add,
        "update": change,
        "partial_update": change,
        "destroy": change,
        **actions,
    }


EXPECTED = {
    "incident": {
        "list": EVERYONE_SEES,
        "retrieve": EVERYONE,
        # Acting: the team's responders and managers (and whoever it paged: see test_api_teams).
        "acknowledge": _answers(403, OK, OK, 403, OK),
        "resolve": _answers(403, OK, OK, 403, OK),
        "escalate": _answers(403, OK, OK, 403, OK),
    },
    "service": _config(TEAM_LIST, TEAM_READ, TEAM_CHANGE),
    "maintenancewindow": _config(TEAM_LIST, TEAM_READ, TEAM_CHANGE),
    "integration": _config(MANAGERS_LIST, MANAGERS_ONLY, MANAGERS_ONLY, rotate_key=MANAGERS_ONLY),
    "escalationpolicy": _config(TEAM_LIST, TEAM_READ, TEAM_CHANGE),
    "schedule": _config(EVERYONE_SEES, EVERYONE, OPEN_CHANGE, oncall=EVERYONE, shifts=EVERYONE),
    # Overrides: access.may_cover decides (schedules/overrides.py). Anyone may ask to add one
    # (an empty body is a 400; whom it covers is checked then); Alice's, held by her, is changed
    # or removed by her and her team's managers (the responder persona is not Alice).
    "override": _config(EVERYONE_SEES, EVERYONE, OPEN_CHANGE, add=EVERYONE),
    # Feeds keep their owner rules: one's own and schedules'; Alice's personal feed is hers.
    "calendarfeed": {
        "list": ADMIN_LIST,
        "retrieve": ADMIN_OR_404,
        "create": EVERYONE,
        "destroy": ADMIN_OR_404,
        "revoke": ADMIN_OR_404,
        "recreate": ADMIN_OR_404,
    },
    # Names for everyone; people are added and changed by site admins.
    "user": _config(EVERYONE_SEES, EVERYONE, ADMIN_ONLY, add=ADMIN_ONLY),
    # Alice's own rows: she and her team's managers (and site admins); a new row for oneself.
    "contactmethod": _config(
        MANAGERS_LIST,
        MANAGERS_ONLY,
        MANAGERS_ONLY,
        add=EVERYONE,
        send_verification=MANAGERS_ONLY,
        verify=MANAGERS_ONLY,
        mark_verified=ADMIN_ONLY,  # vouching without a code
    ),
    "notificationrule": _config(MANAGERS_LIST, MANAGERS_ONLY, MANAGERS_ONLY, add=EVERYONE),
    # Tokens: one's own; site admins list and revoke anyone's.
    "apitoken": {
        "list": ADMIN_LIST,
        "retrieve": ADMIN_OR_404,
        "create": EVERYONE,
        "destroy": ADMIN_OR_404,
        "revoke": ADMIN_OR_404,
    },
    "team": _config(EVERYONE_SEES, EVERYONE, ADMIN_ONLY, add=ADMIN_ONLY),
    # The audit log: site admins all entries, managers their teams' (another team's is 404).
    "auditentry": {
        "list": _answers(403, 403, SEEN, HIDDEN, SEEN),
        "retrieve": _answers(403, 403, OK, 404, OK),
    },
}


def _routes() -> list[tuple[str, str, str, str, bool]]:
    """Return (url name, method, basename, action, on one object) for every route served."""
    found = []
    for _, viewset, basename in [*router.registry, *audit_router.registry]:
        for route in router.get_routes(viewset):
            for method, action in route.mapping.items():
                if hasattr(viewset, action):
                    name = route.name.format(basename=basename)
                    found.append((name, method, basename, action, "{lookup}" in route.url))
    return found


ROUTES = _routes()


@pytest.fixture
def world(alice, bob, payments):
    """The Payments team's objects and Alice's own rows; Search is another team."""
    team = Team.objects.create(name="Payments", slug="payments")
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin", team=team)
    layer = Layer.objects.create(schedule=schedule, name="days", handoff_date=dt.date(2026, 1, 5))
    LayerMember.objects.create(layer=layer, user=alice)
    payments.team = team
    payments.save()
    payments.escalation_policy.team = team
    payments.escalation_policy.save()
    join(alice, "responder", team)
    objects = one_of_each(owner=alice, service=payments, schedule=schedule, covering=alice)
    search = Team.objects.create(name="Search", slug="search")
    entry = AuditEntry.objects.filter(team=team).latest("pk")  # the service joining Payments
    return {**objects, "team": team, "search": search, "auditentry": entry}


# Who each persona is: (username, role, which team); the site admin is in no team.
WHO = {
    "observer": ("olive", "observer", "team"),
    "responder": ("rita", "responder", "team"),
    "manager": ("mona", "manager", "team"),
    "other manager": ("otto", "manager", "search"),
}


def _persona(persona: str, world: dict):
    if persona == "anonymous":
        return None
    if persona == "site admin":
        return UserFactory(username="root", is_staff=True, is_superuser=True)
    username, role, team = WHO[persona]
    # Managers are staff (they use admin): staff alone grants nothing in the API.
    return join(UserFactory(username=username, is_staff=role == "manager"), role, world[team])


def test_every_route_has_an_expectation_for_every_persona():
    missing = [
        f"{method} {name} ({action})"
        for name, method, basename, action, _ in ROUTES
        if set(EXPECTED.get(basename, {}).get(action, {})) != set(SIGNED_IN)
    ]

    assert not missing, "routes without an expected answer per persona: " + ", ".join(missing)


def test_the_walk_covers_every_operation_of_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (path, method)
        for path, ops in schema["paths"].items()
        for method in ops
        if method != "parameters"
    }
    walked = {
        (reverse(name, kwargs={"pk": 1} if detail else {}).replace("/1/", "/{id}/"), method)
        for name, method, _, _, detail in ROUTES
    }

    assert documented - {("/api/v1/schema/", "get")} <= walked
    assert len(walked) >= 50


def test_every_viewset_asks_the_one_permission_class():
    for _, viewset, basename in router.registry:
        assert viewset.permission_classes == [ModelPermissions], basename
    # The audit log has its own class (managers read their teams' entries); it asks access too.


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "method", "basename", "action", "detail"),
    ROUTES,
    ids=[f"{m} {n}" for n, m, *_ in ROUTES],
)
def test_every_route_answers_each_persona_as_the_rules_say(
    world, twilio, persona, name, method, basename, action, detail
):
    user = _persona(persona, world)
    obj = world[basename]
    client = client_for(user) if user else APIClient()

    response = getattr(client, method)(
        reverse(name, kwargs={"pk": obj.pk} if detail else {}), {}, format="json"
    )

    if persona == "anonymous":
        assert response.status_code == 401
        return
    expected = EXPECTED[basename][action][persona]
    if expected in (SEEN, HIDDEN):
        assert response.status_code == 200, response.content[:300]
        listed = [row["id"] for row in response.json()["results"]]
        assert (obj.pk in listed) == (expected == SEEN), listed
    elif expected == OK:
        assert response.status_code not in (401, 403, 404), response.content[:300]
    else:
        assert response.status_code == expected, response.content[:300]
        assert response.json()["detail"]
