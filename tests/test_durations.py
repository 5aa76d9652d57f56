"""Durations read `30s`, `5m`, `1h30m`, `2d` alike in admin, the API and settings."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accounts.models import default_team_id
from escalation.models import EscalationPolicy
from oncall.env import env_duration
from paging.models import NotificationRule, Service
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HINT = "Give a duration like 30s, 5m, 1h30m or 2d"


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


def service_form(service: Service, **durations: str) -> dict:
    return {
        "name": service.name,
        "team": service.team_id,
        "description": "",
        "escalation_policy": service.escalation_policy_id,
        "urgency": service.urgency,
        "storm_cap": "20",
        "storm_window": "5m",
        "ack_timeout": "",
        "auto_resolve_after": "",
        "integrations-TOTAL_FORMS": "0",
        "integrations-INITIAL_FORMS": "0",
        "maintenance_windows-TOTAL_FORMS": "0",
        "maintenance_windows-INITIAL_FORMS": "0",
        **durations,
    }


def test_service_form_in_admin_reads_and_shows_durations_as_the_readme_writes_them(
    admin_client, payments
):
    url = reverse("admin:paging_service_change", args=[payments.pk])
    form = service_form(payments, storm_window="1h30m", ack_timeout="2d", auto_resolve_after="30s")

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()
    payments.refresh_from_db()
    assert payments.storm_window == dt.timedelta(hours=1, minutes=30)
    assert payments.ack_timeout == dt.timedelta(days=2)
    assert payments.auto_resolve_after == dt.timedelta(seconds=30)
    page = admin_client.get(url).content.decode()
    assert 'value="1h30m"' in page
    assert 'value="2d"' in page


def test_admin_still_reads_a_clock_style_duration(admin_client, payments):
    url = reverse("admin:paging_service_change", args=[payments.pk])

    admin_client.post(url, service_form(payments, storm_window="00:05:00", ack_timeout="600"))

    payments.refresh_from_db()
    assert payments.storm_window == dt.timedelta(minutes=5)
    assert payments.ack_timeout == dt.timedelta(minutes=10)


def test_a_bad_duration_in_admin_says_what_to_write_naming_the_field(admin_client, payments):
    url = reverse("admin:paging_service_change", args=[payments.pk])

    response = admin_client.post(url, service_form(payments, storm_window="5 minutes"))

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Storm window: {HINT}." in page
    payments.refresh_from_db()
    assert payments.storm_window == dt.timedelta(minutes=5)


def test_level_timeouts_in_admin_take_durations_and_bare_minutes(admin_client, alice, bob):
    data = {
        "name": "Payments",
        "team": default_team_id(),
        "description": "",
        "repeat": "1",
        "tiers-TOTAL_FORMS": "2",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-position": "1",
        "tiers-0-ack_timeout": "1h30m",
        "tiers-0-users": [alice.pk],
        "tiers-1-position": "2",
        "tiers-1-ack_timeout": "2",
        "tiers-1-users": [bob.pk],
    }

    response = admin_client.post(reverse("admin:escalation_escalationpolicy_add"), data)

    assert response.status_code == 302, response.content.decode()
    policy = EscalationPolicy.objects.get(name="Payments")
    assert [t.ack_timeout for t in policy.tiers.all()] == [
        dt.timedelta(hours=1, minutes=30),
        dt.timedelta(minutes=2),
    ]
    page = admin_client.get(reverse("admin:escalation_escalationpolicy_change", args=[policy.pk]))
    assert 'value="1h30m"' in page.content.decode()


def test_api_reads_durations_as_the_readme_writes_them(root, payments):
    api = client_for(root)

    response = api.patch(
        f"/api/v1/services/{payments.pk}/",
        {"storm_window": "5m", "ack_timeout": "1h30m", "auto_resolve_after": "2d"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    payments.refresh_from_db()
    assert payments.storm_window == dt.timedelta(minutes=5)
    assert payments.ack_timeout == dt.timedelta(hours=1, minutes=30)
    assert payments.auto_resolve_after == dt.timedelta(days=2)
    # The answer keeps the format it always had, which clients already read.
    assert response.json()["storm_window"] == "00:05:00"


def test_api_still_reads_clock_style_durations_and_names_a_bad_one(root, alice):
    api = client_for(root)
    sms = alice.contact_methods.get()
    body = {"user": alice.pk, "contact_method": sms.pk, "delay": "00:02:00"}

    assert api.post("/api/v1/notification-rules/", body, format="json").status_code == 201
    bad = api.post("/api/v1/notification-rules/", {**body, "delay": "2 min"}, format="json")

    assert bad.status_code == 400
    assert bad.json() == {"delay": [HINT]}
    assert [r.delay for r in NotificationRule.objects.all()] == [dt.timedelta(minutes=2)]


def test_settings_read_the_same_durations(monkeypatch):
    monkeypatch.setenv("SOME_WINDOW", "1h30m")
    monkeypatch.setenv("BAD_WINDOW", "1x")

    assert env_duration("SOME_WINDOW", "0", minimum=dt.timedelta(0)) == dt.timedelta(minutes=90)
    assert env_duration("UNSET_WINDOW", "2d", minimum=dt.timedelta(0)) == dt.timedelta(days=2)
    with pytest.raises(ImproperlyConfigured, match="BAD_WINDOW: '1x' is not a delay"):
        env_duration("BAD_WINDOW", "0", minimum=dt.timedelta(0))
