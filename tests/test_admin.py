"""Admin: every page an admin uses renders, and incidents can be acknowledged from it."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import ApiToken, Membership, Role, Team, token_digest
from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident, Integration
from schedules.models import Layer, Schedule
from tests.factories import IntegrationFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.fixture
def incident(payments):
    integration = IntegrationFactory(service=payments)
    event = Event(action="trigger", summary="Disk full")
    incident = alert_ingest(integration=integration, event=event, payload={})
    incident_escalate(incident.pk)
    return incident


def test_every_list_and_change_page_renders(admin_client, incident):
    schedule = Schedule.objects.create(name="rota", time_zone="UTC")
    Layer.objects.create(schedule=schedule, handoff_date="2026-01-05")
    for model, obj in [
        ("paging_incident", incident),
        ("paging_service", incident.service),
        ("paging_notification", incident.notifications.first()),
        ("paging_contactmethod", incident.notifications.first().user.contact_methods.first()),
        ("escalation_escalationpolicy", incident.service.escalation_policy),
        ("schedules_schedule", schedule),
        ("schedules_layer", schedule.layers.first()),
        ("accounts_user", incident.notifications.first().user),
    ]:
        assert admin_client.get(reverse(f"admin:{model}_changelist")).status_code == 200, model
        change = reverse(f"admin:{model}_change", args=[obj.pk])
        assert admin_client.get(change).status_code == 200, model


def test_service_page_shows_the_integration_url(admin_client, incident):
    integration = incident.service.integrations.get()

    page = admin_client.get(reverse("admin:paging_service_change", args=[incident.service.pk]))

    assert integration.url in page.content.decode()


def test_acknowledge_action_acknowledges_and_says_who(admin_client, incident):
    admin_client.post(
        reverse("admin:paging_incident_changelist"),
        {"action": "acknowledge", "_selected_action": [incident.pk]},
    )

    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.timeline.last().message.startswith("Acknowledged by root via admin")


def test_bad_time_zone_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:schedules_schedule_add"),
        {
            "name": "rota",
            "time_zone": "Mars/Olympus",
            "layers-TOTAL_FORMS": "0",
            "layers-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "is not an IANA time zone" in response.content.decode()
    assert not Schedule.objects.exists()


def test_incidents_cannot_be_added_by_hand(admin_client, db):
    assert admin_client.get(reverse("admin:paging_incident_add")).status_code == 403
    assert not Incident.objects.exists()


def test_integration_page_shows_the_url_and_rotating_retires_the_old_key(admin_client, incident):
    integration = incident.service.integrations.get()
    old_url = integration.url
    page = admin_client.get(reverse("admin:paging_integration_change", args=[integration.pk]))
    assert old_url in page.content.decode()

    admin_client.post(
        reverse("admin:paging_integration_changelist"),
        {"action": "rotate_keys", "_selected_action": [integration.pk]},
    )

    integration.refresh_from_db()
    assert integration.url != old_url
    assert (
        admin_client.post(old_url, {"summary": "x"}, content_type="application/json").status_code
        == 404
    )


def test_heartbeat_without_interval_is_a_form_error(admin_client, incident):
    response = admin_client.post(
        reverse("admin:paging_integration_add"),
        {
            "service": incident.service.pk,
            "name": "backup",
            "kind": "heartbeat",
            "grouping": "group",
            "signing_header": "X-Grafana-Alerting-Signature",
            "heartbeat_grace": "00:01:00",
            "enabled": "on",
        },
    )

    assert response.status_code == 200
    assert "A heartbeat needs an interval." in response.content.decode()
    assert not Integration.objects.filter(name="backup").exists()


def test_api_token_is_shown_once_on_the_page_and_stored_as_a_digest(admin_client):
    response = admin_client.post(reverse("admin:accounts_apitoken_add"), {"name": "ci"})

    assert response.status_code == 200
    page = response.content.decode()
    (raw,) = set(re.findall(r"oc_[A-Za-z0-9_-]{40,}", page))
    assert "Copy it now: it will not be shown again" in page
    token = ApiToken.objects.get(name="ci")
    assert token.digest == token_digest(raw)
    listing = admin_client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert raw not in listing
    assert token.hint in listing


def test_a_token_made_in_admin_belongs_to_whoever_makes_it(admin_client, alice):
    admin_client.post(reverse("admin:accounts_apitoken_add"), {"user": alice.pk, "name": "ci"})

    assert ApiToken.objects.get(name="ci").user.username == "root"


@pytest.fixture
def ops(db):
    return Team.objects.create(name="Ops", slug="ops")


@pytest.fixture
def people_manager(client, ops):
    """A manager of Ops (who changes its people's details), with every model permission too."""
    dana = UserFactory(username="dana", is_staff=True)
    dana.user_permissions.set(Permission.objects.all())
    Membership.objects.create(team=ops, user=dana, role=Role.MANAGER)
    client.force_login(dana)
    return client


def test_staff_who_may_change_people_cannot_deactivate_a_superuser_in_admin(people_manager, ops):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    Membership.objects.create(team=ops, user=root, role=Role.RESPONDER)

    changed = people_manager.post(
        reverse("admin:accounts_user_change", args=[root.pk]),
        {"username": "root", "is_active": ""},
    )
    deleted = people_manager.post(
        reverse("admin:accounts_user_delete", args=[root.pk]), {"post": "yes"}
    )

    assert (changed.status_code, deleted.status_code) == (403, 403)
    root.refresh_from_db()
    assert root.is_active


def test_staff_who_may_change_people_cannot_grant_staff_or_permissions_in_admin(
    people_manager, ops, alice
):
    Membership.objects.create(team=ops, user=alice, role=Role.RESPONDER)
    people_manager.post(
        reverse("admin:accounts_user_change", args=[alice.pk]),
        {
            "username": "alice",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
            "time_zone": "UTC",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    alice.refresh_from_db()
    assert (alice.is_staff, alice.is_superuser) == (False, False)
    assert not alice.user_permissions.exists()
    assert alice.first_name == ""  # the form saved (the name was cleared), privileges kept


def messages_in_cookie(response) -> list[str]:
    """Return the messages the response's signed `messages` cookie carries."""
    morsel = response.cookies.get("messages")
    if morsel is None or not morsel.value:
        return []
    return [str(m) for m in CookieStorage(response.wsgi_request)._decode(morsel.value) or []]


def test_new_api_token_travels_in_no_cookie_and_no_session(admin_client, alice):
    response = admin_client.post(
        reverse("admin:accounts_apitoken_add"), {"user": alice.pk, "name": "ci"}
    )

    assert not [m for m in messages_in_cookie(response) if ApiToken.PREFIX in m]
    (raw,) = set(re.findall(r"oc_[A-Za-z0-9_-]{40,}", response.content.decode()))
    assert raw not in response.cookies.output()
    assert "no-store" in response["Cache-Control"]
    session = SessionStore(session_key=admin_client.session.session_key).load()
    assert raw not in repr(session)
    assert raw not in repr(list(Session.objects.values_list("session_data", flat=True)))


def test_revoke_action_revokes_tokens(admin_client, alice):
    token, _ = ApiToken.issue(user=alice, name="old")

    admin_client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_refuses_to_delete_a_schedule_a_level_pages(admin_client, alice):
    schedule = Schedule.objects.create(name="Primary", time_zone="UTC")
    PolicyFactory(name="Default", levels=[[schedule]])
    url = reverse("admin:schedules_schedule_delete", args=[schedule.pk])

    page = admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})

    assert "would require deleting the following protected related objects" in page
    assert "Default: Level 1" in page
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_incidents_cannot_be_deleted_in_admin(admin_client, incident):
    changelist = admin_client.get(reverse("admin:paging_incident_changelist")).content.decode()
    delete = admin_client.get(reverse("admin:paging_incident_delete", args=[incident.pk]))

    assert "delete_selected" not in changelist
    assert delete.status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()
