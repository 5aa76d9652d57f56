"""A level's team targets through admin, the API and configuration files, and the warnings."""

import io
import textwrap

import pytest
from django.core.management import CommandError, call_command
from django.db.models import ProtectedError
from django.urls import reverse

from accounts.models import Membership, Role, Team
from escalation.checks import policy_warnings
from escalation.models import EscalationPolicy, TeamMode, TierTeam
from tests.conftest import client_for
from tests.escalation.test_policy_admin import policy_form
from tests.factories import ContactMethodFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:escalation_escalationpolicy_add")
POLICIES = "/api/v1/escalation-policies/"


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


@pytest.fixture
def api(root):
    return client_for(root)


@pytest.fixture
def payments(db) -> Team:
    return Team.objects.create(name="Payments", slug="payments")


@pytest.fixture
def infra(db) -> Team:
    return Team.objects.create(name="Infra", slug="infra")


def links() -> list[tuple[str, str]]:
    return sorted((link.team.slug, link.mode) for link in TierTeam.objects.all())


# --- Admin ------------------------------------------------------------------------------------


def test_admin_level_pages_teams_all_or_round_robin(admin_client, payments, infra):
    level = {"position": "1", "ack_timeout": "5", "teams_round_robin": [payments.pk]}
    level["teams_all"] = [infra.pk]

    response = admin_client.post(ADD, policy_form("Payments", [level]))

    assert response.status_code == 302
    assert links() == [("infra", "all"), ("payments", "round_robin")]
    policy = EscalationPolicy.objects.get()
    page = admin_client.get(reverse("admin:escalation_escalationpolicy_change", args=[policy.pk]))
    assert "Teams: round-robin" in page.content.decode()
    assert f'<option value="{payments.pk}" selected>Payments</option>' in page.content.decode()


def test_admin_refuses_a_team_in_both_lists_in_words(admin_client, payments):
    level = {"position": "1", "ack_timeout": "5", "teams_all": [payments.pk]}
    level["teams_round_robin"] = [payments.pk]

    response = admin_client.post(ADD, policy_form("Payments", [level]))

    assert "A team is paged one way per level: Payments is in both lists." in (
        response.content.decode()
    )
    assert not EscalationPolicy.objects.exists()


def test_admin_save_keeps_the_round_robin_turn(admin_client, payments):
    ann = UserFactory(username="ann")
    policy = PolicyFactory(levels=[[]])
    tier = policy.tiers.get()
    TierTeam.objects.create(tier=tier, team=payments, mode="round_robin", last_picked=ann)
    data = policy_form(policy.name, [{"id": tier.pk, "policy": policy.pk, "position": "1"}])
    data |= {"tiers-INITIAL_FORMS": "1", "tiers-0-ack_timeout": "2"}
    data["tiers-0-teams_round_robin"] = [payments.pk]

    response = admin_client.post(
        reverse("admin:escalation_escalationpolicy_change", args=[policy.pk]), data
    )

    assert response.status_code == 302
    assert TierTeam.objects.get().last_picked == ann


# --- API --------------------------------------------------------------------------------------


def test_api_round_trips_a_levels_teams(api, payments, infra):
    teams = [{"team": "payments", "mode": "round_robin"}, {"team": "infra"}]

    created = api.post(
        POLICIES, {"name": "p", "tiers": [{"ack_timeout": "5m", "teams": teams}]}, format="json"
    )

    assert created.status_code == 201, created.json()
    shown = api.get(f"{POLICIES}{created.json()['id']}/").json()["tiers"][0]["teams"]
    assert sorted(shown, key=lambda t: t["team"]) == [
        {"team": "infra", "mode": "all"},
        {"team": "payments", "mode": "round_robin"},
    ]


def test_api_replacing_levels_keeps_the_round_robin_turn(api, payments):
    body = {"name": "p", "tiers": [{"ack_timeout": "5m", "teams": [{"team": "payments"}]}]}
    body["tiers"][0]["teams"][0]["mode"] = "round_robin"
    pk = api.post(POLICIES, body, format="json").json()["id"]
    ann = UserFactory(username="ann")
    TierTeam.objects.update(last_picked=ann)

    body["tiers"][0]["ack_timeout"] = "10m"
    assert api.put(f"{POLICIES}{pk}/", body, format="json").status_code == 200

    assert TierTeam.objects.get().last_picked == ann


@pytest.mark.parametrize(
    ("team", "field", "words"),
    [
        ({"team": "nope", "mode": "all"}, "team", "does not exist"),
        ({"team": "payments", "mode": "sometimes"}, "mode", "not a valid choice"),
        ({"team": "payments", "moed": "all"}, "moed", "Did you mean"),
    ],
)
def test_api_bad_team_or_mode_is_a_400_naming_the_field(api, payments, team, field, words):
    response = api.post(
        POLICIES, {"name": "p", "tiers": [{"ack_timeout": "5m", "teams": [team]}]}, format="json"
    )

    assert response.status_code == 400
    assert words in str(response.json()["tiers"]["0"]["teams"]["0"][field])
    assert not EscalationPolicy.objects.exists()


def test_api_a_team_twice_on_one_level_is_a_400(api, payments):
    teams = [{"team": "payments"}, {"team": "payments", "mode": "round_robin"}]

    response = api.post(
        POLICIES, {"name": "p", "tiers": [{"ack_timeout": "5m", "teams": teams}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["tiers"]["0"]["teams"] == [
        "A team is paged one way per level: payments twice."
    ]


def test_api_a_level_with_only_a_team_pages_someone_and_one_with_nothing_is_refused(api):
    response = api.post(POLICIES, {"name": "p", "tiers": [{"ack_timeout": "5m"}]}, format="json")

    assert response.status_code == 400
    assert response.json()["tiers"]["0"]["users"] == [
        "Level 1 needs at least one person, schedule or team."
    ]


# --- Configuration files ----------------------------------------------------------------------

FILE = """
escalation_policies:
  - name: payments
    tiers:
      - targets: [{user: root}]
        teams: [{team: payments, mode: round_robin}, {team: infra, mode: all}]
        ack_timeout: 5m
"""


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall", *args, stdout=out)
    return out.getvalue()


def apply(tmp_path, text: str) -> str:
    path = tmp_path / "oncall.yaml"
    path.write_text(textwrap.dedent(text))
    return run("apply", str(path))


def test_config_applies_and_round_trips_a_levels_teams(tmp_path, root, payments, infra):
    apply(tmp_path, FILE)
    exported = run("export")
    EscalationPolicy.objects.all().delete()

    apply(tmp_path, exported)

    assert links() == [("infra", "all"), ("payments", "round_robin")]
    assert run("export") == exported
    assert "- {team: infra, mode: all}\n    - {team: payments, mode: round_robin}" in exported


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("team: infra", "team: nope"), 'tiers[0].teams[1].team: no team named "nope"'),
        (("mode: all", "mode: sometimes"), "tiers[0].teams[1].mode: must be one of"),
        (("mode: all", "mood: all"), 'tiers[0].teams[1].mood: unknown key; did you mean "mode"'),
    ],
)
def test_config_bad_team_or_mode_names_its_place(tmp_path, root, payments, infra, change, message):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, FILE.replace(*change))

    assert message in str(raised.value)
    assert not EscalationPolicy.objects.exists()


# --- Warnings ---------------------------------------------------------------------------------


def test_warns_when_a_team_target_has_nobody_who_can_be_paged(payments):
    observer = UserFactory(username="obs")
    Membership.objects.create(team=payments, user=observer, role=Role.OBSERVER)
    policy = PolicyFactory(levels=[[]])
    TierTeam.objects.create(tier=policy.tiers.get(), team=payments, mode=TeamMode.ROUND_ROBIN)

    assert policy_warnings(policy)[0] == (
        "Level 1 pages nobody: team Payments has no active responders or managers."
    )
    responder = UserFactory(username="ann")
    Membership.objects.create(team=payments, user=responder, role=Role.RESPONDER)
    assert (
        "no responder in team Payments has a verified contact method"
        in (policy_warnings(policy)[0])
    )
    ContactMethodFactory(user=responder)
    assert policy_warnings(policy) == []


def test_a_team_a_level_pages_cannot_be_deleted(payments):
    policy = PolicyFactory(levels=[[]])
    TierTeam.objects.create(tier=policy.tiers.get(), team=payments, mode=TeamMode.ALL)

    with pytest.raises(ProtectedError):
        payments.delete()

    assert TierTeam.objects.filter(team=payments).exists()
