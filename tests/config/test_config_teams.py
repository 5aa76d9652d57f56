"""Teams in configuration as code: `teams:`, `team:` on objects, and one team's part at a time."""

import io
import textwrap

import pytest
from django.core.management import CommandError, call_command

from accounts.models import DEFAULT_TEAM_SLUG, ApiToken, Membership, Role, Team, User
from escalation.models import EscalationPolicy
from paging.models import Service
from schedules.models import Schedule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEAMS = """
users:
  - {username: alice, name: Alice Adams}
  - {username: bob, name: Bob Brown}
  - {username: carol, name: Carol Clark}
teams:
  - name: Payments
    members:
      - {user: alice, role: manager}
      - {user: bob, role: responder}
  - name: Search
    slug: search
    members:
      - {user: carol, role: manager}
schedules:
  - name: payments rota
    team: payments
    layers:
      - {name: week, participants: [alice, bob], shift: 1w, start: "2026-01-05T09:00"}
escalation_policies:
  - name: payments policy
    team: payments
    tiers:
      - {targets: [{schedule: payments rota}], ack_timeout: 5m}
services:
  - {name: Checkout, team: payments, escalation_policy: payments policy}
  - {name: Search, team: search}
  - {name: Legacy}
"""

# What the manager of Payments keeps in their own repository: only their team's part.
PAYMENTS = """
schedules:
  - name: payments rota
    team: payments
    layers:
      - {name: week, participants: [alice, bob], shift: 1w, start: "2026-01-05T09:00"}
escalation_policies:
  - name: payments policy
    team: payments
    tiers:
      - {targets: [{schedule: payments rota}], ack_timeout: 10m}
services:
  - {name: Checkout, team: payments, escalation_policy: payments policy, storm_cap: 7}
  - {name: Refunds, team: payments}
"""


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall", *args, stdout=out)
    return out.getvalue()


def apply(tmp_path, text: str, *flags: str) -> str:
    path = tmp_path / "oncall.yaml"
    path.write_text(textwrap.dedent(text))
    return run("apply", str(path), *flags)


def token_of(username: str) -> str:
    return ApiToken.issue(user=User.objects.get(username=username), name="ci")[1]


def teams_of_services() -> dict[str, str]:
    return dict(Service.objects.values_list("name", "team__slug"))


def test_teams_and_their_objects_apply_and_round_trip(tmp_path):
    apply(tmp_path, TEAMS)

    payments = Team.objects.get(slug="payments")
    assert payments.name == "Payments"
    roles = set(Membership.objects.values_list("team__slug", "user__username", "role"))
    assert roles == {
        ("payments", "alice", Role.MANAGER),
        ("payments", "bob", Role.RESPONDER),
        ("search", "carol", Role.MANAGER),
    }
    assert teams_of_services() == {
        "Checkout": "payments",
        "Search": "search",
        "Legacy": DEFAULT_TEAM_SLUG,
    }
    assert Schedule.objects.get().team == payments
    assert EscalationPolicy.objects.get().team == payments

    exported = run("export")
    assert "team: payments" in exported
    assert "team: default" not in exported  # the Default team goes without saying
    assert "slug: payments" not in exported  # made from the name again
    assert "slug: search" not in exported
    for model in (Service, EscalationPolicy, Schedule):
        model.objects.all().delete()
    Team.objects.exclude(slug=DEFAULT_TEAM_SLUG).delete()
    User.objects.all().delete()
    apply(tmp_path, exported)
    assert run("export") == exported
    assert apply(tmp_path, exported).splitlines()[-1].startswith("0 created, 0 updated")


def test_membership_changes_update_roles_and_remove_people_left_out(tmp_path):
    apply(tmp_path, TEAMS)

    apply(tmp_path, TEAMS.replace("{user: bob, role: responder}", "{user: carol, role: observer}"))

    roles = set(
        Membership.objects.filter(team__slug="payments").values_list("user__username", "role")
    )
    assert roles == {("alice", Role.MANAGER), ("carol", Role.OBSERVER)}


def test_a_file_written_before_teams_applies_unchanged_into_the_default_team(tmp_path):
    old = """
    users: [{username: alice}]
    services: [{name: Legacy}]
    """
    apply(tmp_path, old)
    payments = Team.objects.create(name="Payments", slug="payments")
    Membership.objects.create(team=payments, user=User.objects.get(), role=Role.MANAGER)

    out = apply(tmp_path, old)

    assert out.splitlines()[-1] == "0 created, 0 updated, 0 deleted, 2 unchanged"
    assert teams_of_services() == {"Legacy": DEFAULT_TEAM_SLUG}
    assert Membership.objects.filter(team=payments).exists()  # no teams: section, left alone


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("team: search}", "team: serch}"),
            'services[1].team: no team named "serch"; did you mean "search"?',
        ),
        (
            ("{user: bob, role: responder}", "{user: bobby, role: responder}"),
            'teams[0].members[1].user: no user named "bobby"',
        ),
        (
            ("{user: bob, role: responder}", "{user: bob, role: boss}"),
            "teams[0].members[1].role: must be one of manager, responder, observer",
        ),
        (("slug: search", "slug: Search Team"), "teams[1].slug: must be a slug"),
        (
            ("{user: bob, role: responder}", "{user: alice, role: responder}"),
            'teams[0].members[1].user: "alice" is already members[0]',
        ),
    ],
)
def test_team_errors_name_their_place_and_nothing_changes(tmp_path, change, message):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, TEAMS.replace(*change))

    assert message in str(raised.value)
    assert not Service.objects.exists()
    assert not Team.objects.exclude(slug=DEFAULT_TEAM_SLUG).exists()


def test_prune_deletes_a_team_left_out_with_its_objects_but_never_the_default_team(tmp_path):
    apply(tmp_path, TEAMS)
    search_team = (
        "  - name: Search\n    slug: search\n    members:\n      - {user: carol, role: manager}\n"
    )
    without_search = TEAMS.replace(search_team, "").replace(
        "  - {name: Search, team: search}\n", ""
    )

    out = apply(tmp_path, without_search, "--prune")

    assert "deleted team search" in out
    assert set(Team.objects.values_list("slug", flat=True)) == {"payments", DEFAULT_TEAM_SLUG}
    assert set(teams_of_services()) == {"Checkout", "Legacy"}


# --- One team's part, as its manager ------------------------------------------------------


@pytest.fixture
def teams(tmp_path):
    apply(tmp_path, TEAMS)
    dave = UserFactory(username="dave")
    Membership.objects.create(team=Team.objects.get(slug="payments"), user=dave, role=Role.OBSERVER)


def test_a_managers_token_applies_their_teams_part(tmp_path, teams):
    out = apply(tmp_path, PAYMENTS, "--team", "payments", "--token", token_of("alice"))

    assert "created service Refunds" in out
    assert Service.objects.get(name="Checkout").storm_cap == 7
    assert Service.objects.get(name="Refunds").team.slug == "payments"
    assert teams_of_services()["Search"] == "search"
    assert ApiToken.objects.get().last_used_at is not None


def test_the_token_may_come_from_the_environment(tmp_path, teams, monkeypatch):
    monkeypatch.setenv("ONCALL_TOKEN", token_of("alice"))

    apply(tmp_path, PAYMENTS, "--team", "payments")

    assert Service.objects.filter(name="Refunds").exists()


@pytest.mark.parametrize(
    "service",
    ["{name: Search, team: search, storm_cap: 3}", "{name: Search, team: payments}"],
    ids=["another-teams-service", "moving-it-into-mine"],
)
def test_a_file_touching_another_teams_service_is_refused_naming_it(tmp_path, teams, service):
    text = PAYMENTS + f"  - {service}\n"

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text, "--team", "payments", "--token", token_of("alice"))

    assert (
        "services[2]: service Search belongs to team search: you may change only payments"
        in str(raised.value)
    )
    assert not Service.objects.filter(name="Refunds").exists()
    assert Service.objects.get(name="Checkout").storm_cap == 20
    assert teams_of_services()["Search"] == "search"


def test_prune_with_team_deletes_only_that_teams_objects(tmp_path, teams):
    text = PAYMENTS.replace(
        "  - {name: Checkout, team: payments, escalation_policy: payments policy, storm_cap: 7}\n",
        "",
    )

    out = apply(tmp_path, text, "--prune", "--team", "payments", "--token", token_of("alice"))

    assert "deleted service Checkout" in out
    assert set(teams_of_services()) == {"Refunds", "Search", "Legacy"}
    assert User.objects.filter(username="carol").exists()
    assert Team.objects.filter(slug="search").exists()


def test_without_a_token_team_applies_only_that_part_as_the_operator(tmp_path, teams):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, PAYMENTS + "  - {name: Legacy, storm_cap: 3}\n", "--team", "payments")
    assert "service Legacy belongs to team default: you may change only payments" in str(
        raised.value
    )

    apply(tmp_path, PAYMENTS, "--team", "payments", "--dry-run")
    assert not Service.objects.filter(name="Refunds").exists()
    apply(tmp_path, PAYMENTS, "--team", "payments")
    assert Service.objects.filter(name="Refunds").exists()


@pytest.mark.parametrize("raw", ["oc_not-a-real-token-1234567890", "revoked"])
def test_a_bad_token_is_refused_without_echoing_it(tmp_path, teams, raw):
    if raw == "revoked":
        raw = token_of("alice")
        ApiToken.objects.update(revoked_at="2026-01-01T00:00Z")

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, PAYMENTS, "--team", "payments", "--token", raw)

    assert str(raised.value) == "the token is not valid"
    assert raw not in str(raised.value)
    assert not Service.objects.filter(name="Refunds").exists()


@pytest.mark.parametrize(
    "who", ["bob", "dave", "carol"], ids=["responder", "observer", "other-manager"]
)
def test_only_the_teams_managers_may_apply_its_part(tmp_path, teams, who):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, PAYMENTS, "--team", "payments", "--token", token_of(who))

    assert str(raised.value) == f"{who} is not a manager of payments"
    assert not Service.objects.filter(name="Refunds").exists()


def test_a_site_admins_token_may_apply_any_team_or_the_whole_file(tmp_path, teams):
    UserFactory(username="root", is_superuser=True)

    apply(tmp_path, PAYMENTS, "--team", "payments", "--token", token_of("root"))
    apply(
        tmp_path,
        TEAMS.replace("{name: Legacy}", "{name: Legacy, storm_cap: 3}"),
        "--token",
        token_of("root"),
    )

    assert Service.objects.get(name="Legacy").storm_cap == 3


def test_a_managers_token_must_name_the_team(tmp_path, teams):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, PAYMENTS, "--token", token_of("alice"))

    assert "--team" in str(raised.value)


def test_an_unknown_team_is_refused_with_a_suggestion(tmp_path, teams):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, PAYMENTS, "--team", "paymnts", "--token", token_of("alice"))

    assert str(raised.value) == 'no team named "paymnts"; did you mean "payments"?'


def test_a_manager_may_not_change_teams_or_members(tmp_path, teams):
    text = PAYMENTS + "teams:\n  - name: Payments\n    members: [{user: alice, role: manager}]\n"

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text, "--team", "payments", "--token", token_of("alice"))

    assert (
        "teams[0]: team payments: only a site administrator may change teams and their members"
        in str(raised.value)
    )
    assert Membership.objects.filter(user__username="bob", team__slug="payments").exists()


def test_a_manager_changes_only_the_people_of_their_teams(tmp_path, teams):
    people = [
        "{username: bob, name: Robert Brown}",
        "{username: carol, name: Caroline}",
        "{username: erin}",
        "{username: alice, name: Alice Adams, staff: true}",
    ]
    text = PAYMENTS + "users:\n" + "".join(f"  - {p}\n" for p in people)

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text, "--team", "payments", "--token", token_of("alice"))

    message = str(raised.value)
    assert (
        "users[1]: user carol: you may change only yourself and the people of your teams" in message
    )
    assert "users[2]: user erin is new: only a site administrator may add people" in message
    assert "users[3]: user alice: only a site administrator may change who is staff" in message
    assert "users[0]" not in message
    assert User.objects.get(username="carol").first_name == "Carol"

    apply(
        tmp_path,
        PAYMENTS + "users:\n  - {username: bob, name: Robert Brown}\n",
        "--team",
        "payments",
        "--token",
        token_of("alice"),
    )
    assert User.objects.get(username="bob").first_name == "Robert"


def test_export_team_writes_only_its_objects_and_the_people_they_use(tmp_path, teams):
    exported = run("export", "--team", "payments")

    assert "name: Checkout" in exported
    assert "Search" not in exported and "Legacy" not in exported
    assert "username: alice" in exported and "username: bob" in exported
    assert "carol" not in exported
    out = apply(tmp_path, exported, "--team", "payments", "--token", token_of("alice"))
    assert out.splitlines()[-1].startswith("0 created, 0 updated, 0 deleted")
