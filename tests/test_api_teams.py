"""Teams through the API: who acts on which incident, where new objects go, secrets, people.

The walk in test_api_roles.py checks every route for every persona; these tell the stories.
"""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import ApiToken, Membership, Team, default_team_id
from paging.engine import incident_escalate
from paging.models import ContactMethod, Integration, MaintenanceWindow, Service
from tests.conftest import client_for
from tests.factories import IntegrationFactory, ServiceFactory, UserFactory, join
from tests.paging.test_escalation_engine import trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_a(payments):
    """Payments, the team that owns the payments service (its policy pages Alice, then Bob)."""
    team = Team.objects.create(name="Payments", slug="payments")
    Service.objects.filter(pk=payments.pk).update(team=team)
    payments.escalation_policy.team = team
    payments.escalation_policy.save()
    payments.refresh_from_db()
    return team


@pytest.fixture
def team_b(db):
    return Team.objects.create(name="Search", slug="search")


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def _manager(team: Team, username: str = "mona"):
    return join(UserFactory(username=username, is_staff=True), "manager", team)


# --- Acting on incidents ----------------------------------------------------------------------


def test_a_responder_of_another_team_acts_on_an_incident_only_once_it_paged_them(
    team_a, team_b, payments, alice, twilio
):
    join(alice, "responder", team_b)  # Payments' policy pages her, but she is in Search
    incident = trigger(payments)
    api = client_for(alice)

    before = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    incident_escalate(incident.pk)  # Level 1 pages Alice
    after = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")

    assert before.status_code == 403
    assert "may read this incident but not act on it" in before.json()["detail"]
    assert after.status_code == 200
    assert after.json()["acknowledged_by"] == "Alice Adams"


def test_an_observer_reads_an_incident_but_may_not_resolve_it(team_a, payments, bob):
    incident = trigger(payments)
    api = client_for(join(bob, "observer", team_a))

    assert api.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
    refused = api.post(f"/api/v1/incidents/{incident.pk}/resolve/")

    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_without_open_reading_another_teams_incident_is_not_there(
    team_a, team_b, payments, bob, settings
):
    settings.TEAMS_OPEN_READ = False
    incident = trigger(payments)
    api = client_for(join(bob, "responder", team_b))

    assert api.get(f"/api/v1/incidents/{incident.pk}/").status_code == 404
    assert api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 404
    assert api.get("/api/v1/incidents/").json()["results"] == []


def test_with_open_reading_another_teams_incident_is_read_only(team_a, team_b, payments, bob):
    incident = trigger(payments)
    api = client_for(join(bob, "responder", team_b))

    assert api.get(f"/api/v1/incidents/{incident.pk}/").json()["summary"] == "Disk full on db1"
    assert api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 403


def test_incidents_filter_by_team_and_by_who_was_paged(team_a, team_b, payments, alice, twilio):
    mine = trigger(payments, summary="Disk full")
    incident_escalate(mine.pk)  # pages Alice
    quiet = trigger(ServiceFactory(name="search", team=team_b), summary="Slow queries")
    api = client_for(join(alice, "responder", team_a))

    def summaries(query: str) -> list[str]:
        response = api.get(f"/api/v1/incidents/{query}")
        assert response.status_code == 200, response.json()
        return [i["summary"] for i in response.json()["results"]]

    assert summaries("?team=search") == [quiet.summary]
    assert summaries("?team=payments") == [mine.summary]
    assert summaries("?mine=true") == [mine.summary]
    assert len(summaries("?mine=false")) == 2
    assert api.get("/api/v1/incidents/?mine=yes").json() == {"mine": "must be true or false"}


# --- Where new objects go, and moving them ----------------------------------------------------


def test_a_service_made_without_a_team_joins_the_only_team_its_maker_manages(team_a, payments):
    api = client_for(_manager(team_a))
    body = {"name": "ledger", "escalation_policy": payments.escalation_policy_id}

    response = api.post("/api/v1/services/", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["team"] == "payments"
    assert Service.objects.get(name="ledger").team == team_a


def test_a_site_admin_without_a_team_named_makes_it_in_default(root, payments):
    body = {"name": "ledger", "escalation_policy": payments.escalation_policy_id}

    response = client_for(root).post("/api/v1/services/", body, format="json")

    assert response.json()["team"] == "default"
    assert Service.objects.get(name="ledger").team_id == default_team_id()


def test_a_manager_of_two_teams_must_name_one(team_a, team_b):
    api = client_for(join(_manager(team_a), "manager", team_b))

    refused = api.post("/api/v1/schedules/", {"name": "Primary"}, format="json")
    named = api.post("/api/v1/schedules/", {"name": "Primary", "team": team_b.pk}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {"team": ["Name the team: you manage more than one."]}
    assert named.status_code == 201
    assert named.json()["team"] == "search"


def test_a_manager_cannot_make_or_move_anything_into_a_team_they_do_not_manage(
    team_a, team_b, payments
):
    api = client_for(_manager(team_a))

    made = api.post("/api/v1/escalation-policies/", {"name": "x", "team": "search"}, format="json")
    moved = api.patch(f"/api/v1/services/{payments.pk}/", {"team": "search"}, format="json")

    assert made.status_code == moved.status_code == 400
    assert moved.json() == {"team": ["You are not a manager of Search."]}
    assert made.json()["team"] == ["You are not a manager of Search."]
    payments.refresh_from_db()
    assert payments.team == team_a


def test_a_manager_of_both_teams_moves_a_service(team_a, team_b, payments):
    api = client_for(join(_manager(team_a), "manager", team_b))

    response = api.patch(f"/api/v1/services/{payments.pk}/", {"team": "search"}, format="json")

    assert response.status_code == 200
    payments.refresh_from_db()
    assert payments.team == team_b


def test_an_unknown_team_is_400_naming_the_field(root):
    response = client_for(root).post(
        "/api/v1/schedules/", {"name": "x", "team": "nope"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"team": ["there is no team nope: give its slug or id"]}


def test_a_window_on_another_teams_service_is_400_naming_the_service(team_a, team_b, payments):
    theirs = client_for(_manager(team_b, "otto"))
    member = client_for(join(_manager(team_b, "olga"), "responder", team_a))
    span = {
        "service": payments.pk,
        "starts_at": "2026-12-24T10:00Z",
        "ends_at": "2026-12-24T12:00Z",
    }

    unseen = theirs.post("/api/v1/maintenance-windows/", span, format="json")
    seen = member.post("/api/v1/maintenance-windows/", span, format="json")

    # A service they may not read is answered as one that does not exist; one they read but do
    # not manage says so. Both name the field, and nothing is stored.
    assert unseen.status_code == seen.status_code == 400
    assert "does not exist" in unseen.json()["service"][0]
    assert seen.json() == {"service": ["you are not a manager of payments's team"]}
    assert not MaintenanceWindow.objects.exists()


def test_django_permissions_without_a_team_role_grant_nothing_on_a_teams_rows(team_a, payments):
    staff = UserFactory(username="dana", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="paging"))
    api = client_for(staff)

    assert api.get(f"/api/v1/services/{payments.pk}/").status_code == 404
    assert api.post("/api/v1/services/", {"name": "x"}, format="json").status_code == 403
    assert api.get("/api/v1/services/").json()["results"] == []


# --- Secrets and contact details --------------------------------------------------------------


def test_integration_keys_never_reach_another_team_or_the_teams_responders(
    team_a, team_b, payments, alice
):
    integration = IntegrationFactory(service=payments, name="events", kind="pagerduty_v2")
    readers = {
        "responder": client_for(join(alice, "responder", team_a)),
        "other team's manager": client_for(_manager(team_b, "otto")),
    }
    manager = client_for(_manager(team_a))

    for who, api in readers.items():
        listed = api.get("/api/v1/integrations/")
        one = api.get(f"/api/v1/integrations/{integration.pk}/")
        assert listed.json()["results"] == [], who
        assert one.status_code == 404, who
        assert integration.key not in listed.content.decode() + one.content.decode(), who
    body = manager.get(f"/api/v1/integrations/{integration.pk}/").json()
    assert body["routing_key"] == integration.key
    assert body["url"].endswith("/v2/enqueue")  # PagerDuty's: the key travels in the body


def test_a_manager_rotates_only_their_teams_integration_keys(team_a, team_b, payments):
    integration = IntegrationFactory(service=payments)
    key = integration.key

    response = client_for(_manager(team_b, "otto")).post(
        f"/api/v1/integrations/{integration.pk}/rotate-key/"
    )

    assert response.status_code == 404
    assert Integration.objects.get(pk=integration.pk).key == key


def test_a_persons_email_and_contact_methods_show_only_to_who_may_manage_them(
    team_a, team_b, alice
):
    join(alice, "responder", team_a)
    url = f"/api/v1/users/{alice.pk}/"
    own = client_for(alice).get(url).json()
    managed = client_for(_manager(team_a)).get(url).json()
    other = client_for(_manager(team_b, "otto")).get(url).json()

    assert own["email"] == managed["email"] == "alice@example.com"
    assert [m["address"] for m in managed["contact_methods"]] == ["+15550100001"]
    assert other["name"] == "Alice Adams"
    assert (other["email"], other["contact_methods"], other["notification_rules"]) == (
        None,
        None,
        None,
    )


def test_a_manager_changes_contact_methods_of_their_team_only(team_a, team_b, alice, bob):
    join(alice, "responder", team_a)
    join(bob, "responder", team_b)
    api = client_for(_manager(team_a))
    hers, his = alice.contact_methods.get(), bob.contact_methods.get()

    listed = api.get("/api/v1/contact-methods/").json()["results"]
    changed = api.patch(f"/api/v1/contact-methods/{hers.pk}/", {"name": "work"}, format="json")
    refused = api.patch(f"/api/v1/contact-methods/{his.pk}/", {"name": "x"}, format="json")
    for_bob = api.post(
        "/api/v1/contact-methods/",
        {"user": bob.pk, "kind": "sms", "address": "+15550109999"},
        format="json",
    )

    assert {m["user"] for m in listed} == {alice.pk}
    assert changed.status_code == 200
    assert refused.status_code == 404
    assert for_bob.status_code == 400
    assert for_bob.json() == {"user": ["you can only manage your own"]}
    assert not ContactMethod.objects.filter(address="+15550109999").exists()


def test_a_responder_manages_their_own_contact_methods_rules_feeds_and_tokens(team_a, alice):
    api = client_for(join(alice, "responder", team_a))
    method = alice.contact_methods.get()

    answers = [
        api.post(
            "/api/v1/contact-methods/",
            {"user": alice.pk, "kind": "email", "address": "a@example.com"},
            format="json",
        ),
        api.post(
            "/api/v1/notification-rules/",
            {"user": alice.pk, "contact_method": method.pk, "delay": "00:02:00"},
            format="json",
        ),
        api.patch(f"/api/v1/contact-methods/{method.pk}/", {"name": "mobile"}, format="json"),
        api.post("/api/v1/calendar-feeds/", {"user": alice.pk}, format="json"),
        api.post("/api/v1/api-tokens/", {"name": "laptop"}, format="json"),
    ]

    assert [a.status_code for a in answers] == [201, 201, 200, 201, 201]


# --- Tokens and people ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["responder", "site admin"])
def test_nobody_mints_a_token_for_someone_else(root, alice, persona):
    minter = client_for(root if persona == "site admin" else alice)
    victim = alice if persona == "site admin" else root

    response = minter.post("/api/v1/api-tokens/", {"name": "x", "user": victim.pk}, format="json")

    assert response.status_code == 400
    assert "user" in response.json()
    assert not ApiToken.objects.filter(user=victim, name="x").exists()


def test_a_site_admin_revokes_anyones_token_and_a_manager_only_their_own(root, team_a, alice):
    token, _ = ApiToken.issue(user=join(alice, "responder", team_a), name="laptop")

    by_manager = client_for(_manager(team_a)).post(f"/api/v1/api-tokens/{token.pk}/revoke/")
    by_admin = client_for(root).post(f"/api/v1/api-tokens/{token.pk}/revoke/")

    assert by_manager.status_code == 404
    assert by_admin.status_code == 200
    assert by_admin.json()["revoked_at"]


def test_only_a_site_admin_adds_or_deactivates_people(root, team_a, alice):
    manager = client_for(_manager(team_a))
    join(alice, "responder", team_a)

    refused = manager.patch(f"/api/v1/users/{alice.pk}/", {"is_active": False}, format="json")
    done = client_for(root).patch(f"/api/v1/users/{alice.pk}/", {"is_active": False}, format="json")

    assert refused.status_code == 403
    assert done.status_code == 200
    alice.refresh_from_db()
    assert not alice.is_active


def test_a_site_admin_deactivates_another_site_admin(root):
    other = UserFactory(username="admin2", is_staff=True, is_superuser=True)

    response = client_for(root).patch(
        f"/api/v1/users/{other.pk}/", {"is_active": False}, format="json"
    )

    assert response.status_code == 200


# --- The teams API ----------------------------------------------------------------------------


def test_members_and_roles_show_to_the_teams_members_never_an_email(team_a, team_b, alice):
    join(alice, "responder", team_a)
    member = client_for(_manager(team_a)).get("/api/v1/teams/payments/").json()
    outsider = client_for(_manager(team_b, "otto")).get("/api/v1/teams/payments/").json()

    assert [(m["username"], m["role"]) for m in member["members"]] == [
        ("alice", "responder"),
        ("mona", "manager"),
    ]
    assert "alice@example.com" not in str(member)
    assert outsider == {"id": team_a.pk, "name": "Payments", "slug": "payments", "members": None}


def test_without_open_reading_people_see_only_their_own_teams(team_a, team_b, alice, settings):
    settings.TEAMS_OPEN_READ = False
    api = client_for(join(alice, "observer", team_a))

    listed = api.get("/api/v1/teams/").json()["results"]

    assert [t["slug"] for t in listed] == ["payments"]
    assert api.get("/api/v1/teams/search/").status_code == 404


def test_a_team_is_found_by_slug_or_id(team_a, root):
    api = client_for(root)

    assert api.get(f"/api/v1/teams/{team_a.pk}/").json()["slug"] == "payments"
    assert api.get("/api/v1/teams/payments/").json()["id"] == team_a.pk
    assert api.get("/api/v1/teams/nope/").status_code == 404


def test_a_site_admin_makes_a_team_and_replaces_its_members(root, alice, bob):
    api = client_for(root)
    made = api.post(
        "/api/v1/teams/",
        {"name": "Search", "slug": "search", "members": [{"user": alice.pk, "role": "manager"}]},
        format="json",
    )
    replaced = api.patch(
        "/api/v1/teams/search/", {"members": [{"user": bob.pk, "role": "observer"}]}, format="json"
    )

    assert made.status_code == 201, made.json()
    assert replaced.status_code == 200, replaced.json()
    team = Team.objects.get(slug="search")
    assert list(Membership.objects.filter(team=team).values_list("user__username", "role")) == [
        ("bob", "observer")
    ]


def test_someone_listed_twice_is_400_and_nothing_changes(root, team_a, alice):
    join(alice, "responder", team_a)
    twice = [{"user": alice.pk, "role": "manager"}, {"user": alice.pk, "role": "observer"}]

    response = client_for(root).patch("/api/v1/teams/payments/", {"members": twice}, format="json")

    assert response.status_code == 400
    assert response.json() == {"members": ["listed more than once: alice"]}
    assert Membership.objects.get(team=team_a, user=alice).role == "responder"


def test_a_manager_may_not_change_their_team_or_its_members(team_a, alice):
    api = client_for(_manager(team_a))

    response = api.patch(
        "/api/v1/teams/payments/",
        {"members": [{"user": alice.pk, "role": "manager"}]},
        format="json",
    )

    assert response.status_code == 403
    assert not Membership.objects.filter(user=alice).exists()


def test_a_team_that_still_owns_services_is_not_deleted(root, team_a, payments):
    response = client_for(root).delete("/api/v1/teams/payments/")

    assert response.status_code == 409
    assert Team.objects.filter(slug="payments").exists()


def test_the_people_list_asks_who_may_be_managed_once(
    team_a, alice, bob, django_assert_max_num_queries
):
    for n in range(10):
        join(UserFactory(username=f"person{n}"), "responder", team_a)
    api = client_for(_manager(team_a))
    api.get("/api/v1/users/")  # the token's first use writes last_used_at

    with django_assert_max_num_queries(8):
        listed = api.get("/api/v1/users/").json()["results"]

    emails = {p["username"]: p["email"] for p in listed}
    assert emails["person0"] == "person0@example.com"
    assert emails["alice"] is None  # in no team of Mona's
