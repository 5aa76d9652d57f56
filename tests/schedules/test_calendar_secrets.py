"""Secrets of calendars: private calendar URLs, feeds and who may revoke them, deactivation."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from schedules.models import CalendarFeed, Layer, LayerKind, Schedule
from tests.conftest import client_for
from tests.factories import UserFactory, join

pytestmark = pytest.mark.django_db

SECRET = "private-5f1c0ffee0ddba11"
GOOGLE = f"https://calendar.google.com/calendar/ical/team%40example.com/{SECRET}/basic.ics"


@pytest.fixture
def imported(db):
    """A schedule whose layer imports a Google calendar by its secret address."""
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    Layer.objects.create(
        schedule=schedule,
        name="Team calendar",
        handoff_date=dt.date(2026, 1, 5),
        kind=LayerKind.ICAL_URL,
        calendar_url=GOOGLE,
    )
    return schedule


def _staff(*codenames: str):
    dana = UserFactory(username="dana", is_staff=True)
    dana.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return dana


def _calendar_url(client: APIClient, schedule: Schedule) -> list[str]:
    one = client.get(f"/api/v1/schedules/{schedule.pk}/").json()
    listed = client.get("/api/v1/schedules/").json()["results"][0]
    return [one["layers"][0]["calendar_url"], listed["layers"][0]["calendar_url"]]


def test_a_responder_sees_only_the_host_of_a_private_calendar_url(imported, alice):
    response = client_for(alice).get(f"/api/v1/schedules/{imported.pk}/")

    assert _calendar_url(client_for(alice), imported) == ["calendar.google.com/…"] * 2
    assert SECRET not in response.content.decode()


def test_staff_who_may_change_schedules_but_manage_no_team_see_only_the_host(imported):
    viewer = client_for(_staff("view_schedule", "change_schedule"))

    assert _calendar_url(viewer, imported) == ["calendar.google.com/…"] * 2


def test_a_manager_of_the_schedules_team_sees_the_full_calendar_url(imported, bob):
    changer = client_for(join(bob, "manager", imported.team))

    assert _calendar_url(changer, imported) == [GOOGLE] * 2


# --- Calendar feeds: who made them, who revokes them ------------------------------------------


def _schedule_feed(client: APIClient, schedule: Schedule) -> dict:
    response = client.post("/api/v1/calendar-feeds/", {"schedule": schedule.pk}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_feed_records_who_created_it(imported, alice):
    feed = _schedule_feed(client_for(alice), imported)

    assert feed["created_by"] == alice.pk
    assert CalendarFeed.objects.get(pk=feed["id"]).created_by == alice


def test_the_creator_of_a_schedule_feed_may_revoke_it(imported, alice):
    api = client_for(alice)
    feed = _schedule_feed(api, imported)

    response = api.post(f"/api/v1/calendar-feeds/{feed['id']}/revoke/")

    assert response.status_code == 200
    assert response.json()["revoked_at"]


def test_a_responder_cannot_revoke_a_schedule_feed_someone_else_created(imported, alice, bob):
    feed = _schedule_feed(client_for(alice), imported)

    response = client_for(bob).post(f"/api/v1/calendar-feeds/{feed['id']}/revoke/")

    assert response.status_code == 403
    assert CalendarFeed.objects.get(pk=feed["id"]).revoked_at is None


def test_staff_who_may_change_feeds_revoke_anyones(imported, alice):
    feed = _schedule_feed(client_for(alice), imported)
    staff = client_for(_staff("change_calendarfeed"))

    response = staff.post(f"/api/v1/calendar-feeds/{feed['id']}/revoke/")

    assert response.status_code == 200


def test_a_recreated_feed_is_created_by_whoever_recreated_it(imported, alice):
    feed = _schedule_feed(client_for(alice), imported)
    staff = _staff("view_calendarfeed", "change_calendarfeed")

    response = client_for(staff).post(f"/api/v1/calendar-feeds/{feed['id']}/recreate/")

    assert response.status_code == 201
    assert response.json()["created_by"] == staff.pk


# --- Deactivation: what a person made stops working ---------------------------------------------


def test_a_schedule_feed_created_by_a_deactivated_person_answers_404(imported, alice):
    feed = CalendarFeed.objects.get(pk=_schedule_feed(client_for(alice), imported)["id"])
    assert APIClient().get(f"/calendar/{feed.token}.ics").status_code == 200

    alice.is_active = False
    alice.save()

    assert APIClient().get(f"/calendar/{feed.token}.ics").status_code == 404


def test_a_schedule_feed_made_before_creators_were_recorded_keeps_working(imported):
    feed = CalendarFeed.objects.create(schedule=imported)

    assert APIClient().get(f"/calendar/{feed.token}.ics").status_code == 200


def test_a_deactivated_persons_api_token_is_refused_401(alice):
    client = client_for(alice)
    assert client.get("/api/v1/incidents/").status_code == 200

    alice.is_active = False
    alice.save()

    response = client.get("/api/v1/incidents/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


# --- Admin shows the same: the URL to who may change the layer, the host to who may only view --


def _admin_pages(client, schedule: Schedule) -> str:
    layer = schedule.layers.get()
    pages = [
        f"/admin/schedules/schedule/{schedule.pk}/change/",
        f"/admin/schedules/layer/{layer.pk}/change/",
    ]
    answers = [client.get(page) for page in pages]
    assert [a.status_code for a in answers] == [200, 200]
    return "".join(a.content.decode() for a in answers)


def test_admin_shows_a_view_only_reader_only_the_host_of_a_calendar_url(client, imported):
    client.force_login(_staff("view_schedule", "view_layer"))

    pages = _admin_pages(client, imported)

    assert "calendar.google.com/…" in pages
    assert SECRET not in pages


def test_admin_shows_who_may_change_layers_the_full_calendar_url(client, imported):
    manager = UserFactory(username="mia")
    Membership.objects.create(team=imported.team, user=manager, role=Role.MANAGER)
    client.force_login(manager)

    assert SECRET in _admin_pages(client, imported)
