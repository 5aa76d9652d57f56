"""The demo data behind `make run`."""

import io
import os
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client

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
    assert "Admin:     http://testserver/admin/  (user admin, password " in out
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


def responder_line(out: str) -> tuple[str, str, str]:
    """Return the address, user and password of the printed "Responder:" line."""
    found = re.search(r"^Responder: (\S+)  \(user (\w+), password ([^;)]+)", out, re.MULTILINE)
    assert found, out
    return found[1], found[2], found[3]


def test_demo_prints_bob_s_responder_sign_in_and_keeps_it_across_runs(settings, tmp_path):
    out = run_demo(settings, tmp_path)

    url, username, password = responder_line(out)
    assert (url, username) == ("http://testserver/", "bob")
    stored = tmp_path / "bob-password"
    assert stored.read_text().strip() == password
    assert stored.stat().st_mode & 0o777 == 0o600
    bob = User.objects.get(username="bob")
    assert bob.check_password(password)
    assert not bob.is_staff and not bob.is_superuser
    assert bob.memberships.get().role == Role.RESPONDER
    assert responder_line(run_demo(settings, tmp_path))[2] == password


def test_demo_gives_bob_a_new_password_when_his_file_is_lost(settings, tmp_path):
    first = responder_line(run_demo(settings, tmp_path))[2]
    (tmp_path / "bob-password").unlink()

    second = responder_line(run_demo(settings, tmp_path))[2]

    assert second != first
    assert User.objects.get(username="bob").check_password(second)
    assert (tmp_path / "bob-password").read_text().strip() == second


def test_the_printed_responder_password_signs_bob_in_to_the_app_but_not_admin(settings, tmp_path):
    _, username, password = responder_line(run_demo(settings, tmp_path))
    client = Client()

    signed_in = client.post("/login/", {"username": username, "password": password})

    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    now = client.get("/")
    assert now.status_code == 200
    assert "Signed in as Bob Brown" in now.content.decode()
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")


def test_demo_makes_a_local_push_key_once_and_make_runs_settings_read_it(settings, tmp_path):
    settings.DEBUG = True
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    settings.LOCAL_VAPID_KEY_FILE = tmp_path / "vapid-private.pem"
    run_demo(settings, tmp_path)
    first = settings.LOCAL_VAPID_KEY_FILE.read_bytes()
    run_demo(settings, tmp_path)

    assert settings.LOCAL_VAPID_KEY_FILE.read_bytes() == first  # kept: devices stay subscribed
    assert settings.LOCAL_VAPID_KEY_FILE.stat().st_mode & 0o777 == 0o600
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "from oncall.wsgi import application; from paging.vapid import "
            "public_key, vapid_problems; print(vapid_problems(), len(public_key()))",
        ],
        env={"PATH": os.environ["PATH"], "DEBUG": "true", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.stdout.split() == ["[]", "87"], started.stderr


def test_demo_makes_no_push_key_outside_debug_or_when_one_is_set(settings, tmp_path):
    settings.LOCAL_VAPID_KEY_FILE = tmp_path / "vapid-private.pem"
    settings.DEBUG = False
    run_demo(settings, tmp_path)
    settings.DEBUG = True
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "configured elsewhere"
    run_demo(settings, tmp_path)

    assert not settings.LOCAL_VAPID_KEY_FILE.exists()
