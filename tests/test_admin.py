"""Admin: every page an admin uses renders, and incidents can be acknowledged from it."""

import pytest
from django.urls import reverse

from paging.actions import alert_ingest
from paging.engine import incident_escalate
from paging.integrations import Event
from paging.models import Incident
from schedules.models import Layer, Schedule
from tests.factories import IntegrationFactory, UserFactory

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
