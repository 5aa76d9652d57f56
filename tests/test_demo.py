"""The demo data behind `make run`."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Role, Team, User
from escalation.models import Tier
from paging.models import ContactMethod, Integration, Service
from schedules.models import LayerMember

pytestmark = pytest.mark.django_db


def run_demo(settings, tmp_path) -> str:
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (User, ContactMethod, LayerMember, Tier, Service, Integration)
    return {m.__name__: m.objects.count() for m in models}


def test_demo_builds_a_team_a_rotation_a_policy_and_a_service(settings, tmp_path):
    out = run_demo(settings, tmp_path)

    assert counts() == {
        "User": 4,
        "ContactMethod": 3,
        "LayerMember": 3,
        "Tier": 3,
        "Service": 1,
        "Integration": 1,
    }
    integration = Integration.objects.get()
    assert f"curl -X POST {integration.url}" in out
    password = (tmp_path / "admin-password").read_text().strip()
    assert f"password {password}" in out
    assert User.objects.get(username="admin").check_password(password)


def test_demo_puts_its_service_schedule_and_policy_in_a_payments_team_alice_manages(
    settings, tmp_path
):
    run_demo(settings, tmp_path)

    team = Team.objects.get(slug="payments")
    service = Service.objects.get()
    assert service.team == team
    assert service.escalation_policy.team == team
    assert LayerMember.objects.first().layer.schedule.team == team
    roles = dict(team.memberships.values_list("user__username", "role"))
    assert roles == {"alice": Role.MANAGER, "bob": Role.RESPONDER, "carol": Role.RESPONDER}


def test_demo_is_idempotent_and_keeps_the_admin_password(settings, tmp_path):
    first = run_demo(settings, tmp_path)
    before = counts()

    second = run_demo(settings, tmp_path)

    assert counts() == before
    assert first == second
