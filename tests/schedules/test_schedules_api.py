"""The schedules API: who is on call, shifts in a window, and overrides with their permissions."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from schedules.models import CalendarFeed, Layer, LayerMember, Override, Schedule
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rota(alice, bob):
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(
        schedule=schedule, shift_unit="days", handoff_date=dt.date(2026, 1, 5)
    )
    LayerMember.objects.create(layer=layer, user=alice, position=0)
    LayerMember.objects.create(layer=layer, user=bob, position=1)
    return schedule


def test_oncall_at_an_instant(rota, alice):
    api = client_for(alice)

    first = api.get(f"/api/v1/schedules/{rota.pk}/oncall/?at=2026-01-05T10:00:00%2B01:00").json()
    second = api.get(f"/api/v1/schedules/{rota.pk}/oncall/?at=2026-01-06T10:00:00Z").json()

    assert first == [{"id": alice.pk, "username": "alice", "name": "Alice Adams"}]
    assert [p["username"] for p in second] == ["bob"]


def test_shifts_in_a_window(rota, alice):
    response = client_for(alice).get(
        f"/api/v1/schedules/{rota.pk}/shifts/?start=2026-01-05T08:00:00Z&end=2026-01-08T08:00:00Z"
    )

    assert response.status_code == 200
    assert [(s["person"]["username"], s["start"]) for s in response.json()] == [
        ("alice", "2026-01-05T08:00:00Z"),  # 09:00 in Berlin
        ("bob", "2026-01-06T08:00:00Z"),
        ("alice", "2026-01-07T08:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?start=yesterday&end=2026-01-08T08:00:00Z", "start"),
        ("?start=2026-01-05T08:00:00Z", "end"),
        ("?start=2026-01-05T08:00:00Z&end=2026-01-01T08:00:00Z", "end"),
        ("?start=2026-01-05T08:00:00Z&end=2028-01-01T08:00:00Z", "end"),
        ("?start=2026-01-05T08:00:00&end=2026-01-06T08:00:00Z", "start"),
        ("?start=9999-12-30T00:00:00Z&end=9999-12-31T00:00:00Z", "start"),
    ],
)
def test_bad_dates_are_400_naming_the_parameter(rota, alice, query, field):
    response = client_for(alice).get(f"/api/v1/schedules/{rota.pk}/shifts/{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_oncall_at_the_end_of_the_calendar_is_400_not_500(rota, alice):
    response = client_for(alice).get(f"/api/v1/schedules/{rota.pk}/oncall/?at=9999-12-31T23:59:59Z")

    assert response.status_code == 400
    assert "between the years 1900 and 2999" in response.json()["at"]


@pytest.mark.parametrize(
    ("layer", "field"),
    [
        (
            {"shift_count": 1000000, "shift_unit": "weeks", "handoff_date": "2026-01-05"},
            "shift_count",
        ),
        ({"shift_count": 1, "shift_unit": "days", "handoff_date": "9999-12-31"}, "handoff_date"),
    ],
)
def test_rotation_whose_handoffs_overflow_the_calendar_is_refused(alice, layer, field):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    body = {"name": "Far", "layers": [{"name": "d", "participants": [alice.pk], **layer}]}

    response = client_for(staff).post("/api/v1/schedules/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["layers"]["0"]
    assert not Schedule.objects.filter(name="Far").exists()
    feed = CalendarFeed.objects.create(user=alice)
    assert APIClient().get(reverse("calendar-feed", args=[feed.token])).status_code == 200


def test_schedule_list_shows_layers_without_extra_queries_per_schedule(rota, alice):
    api = client_for(alice)
    api.get("/api/v1/schedules/")
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/schedules/")
    for n in range(5):
        other = Schedule.objects.create(name=f"s{n}")
        layer = Layer.objects.create(schedule=other, handoff_date=dt.date(2026, 1, 5))
        LayerMember.objects.create(layer=layer, user=alice)
    with CaptureQueriesContext(connection) as many:
        body = api.get("/api/v1/schedules/").json()

    assert body["count"] == 6
    assert body["results"][0]["layers"][0]["participants"]
    assert len(many) == len(one)


def test_responder_takes_an_override_but_not_for_someone_else(rota, alice, bob):
    Membership.objects.create(team=rota.team, user=alice, role=Role.RESPONDER)
    api = client_for(alice)
    mine = {
        "schedule": rota.pk,
        "user": alice.pk,
        "start": "2026-02-01T00:00:00Z",
        "end": "2026-02-02T00:00:00Z",
    }

    created = api.post("/api/v1/overrides/", mine, format="json")
    refused = api.post("/api/v1/overrides/", mine | {"user": bob.pk}, format="json")

    assert created.status_code == 201
    assert refused.status_code == 403
    assert Override.objects.get().user == alice
    on_call = api.get(f"/api/v1/schedules/{rota.pk}/oncall/?at=2026-02-01T12:00:00Z").json()
    assert [p["username"] for p in on_call] == ["alice"]


def test_override_ending_before_it_starts_is_400(rota, alice):
    body = {
        "schedule": rota.pk,
        "user": alice.pk,
        "start": "2026-02-02T00:00:00Z",
        "end": "2026-02-01T00:00:00Z",
    }

    response = client_for(alice).post("/api/v1/overrides/", body, format="json")

    assert response.status_code == 400
    assert "end" in response.json()
    assert not Override.objects.exists()


def test_staff_manage_anyones_overrides(rota, alice, bob):
    staff = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    override = Override.objects.create(
        schedule=rota,
        user=bob,
        start=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        end=dt.datetime(2026, 2, 2, tzinfo=dt.UTC),
    )

    assert client_for(alice).delete(f"/api/v1/overrides/{override.pk}/").status_code == 403
    assert staff.delete(f"/api/v1/overrides/{override.pk}/").status_code == 204


def test_responder_creates_revokes_and_recreates_their_own_feed(client, alice, bob):
    api = client_for(alice)

    created = api.post("/api/v1/calendar-feeds/", {"user": alice.pk}, format="json")
    assert created.status_code == 201
    url = created.json()["url"]
    path = url.removeprefix("http://testserver")
    assert client.get(path).status_code == 200

    fresh = api.post(f"/api/v1/calendar-feeds/{created.json()['id']}/recreate/").json()
    assert client.get(path).status_code == 404
    assert client.get(fresh["url"].removeprefix("http://testserver")).status_code == 200
    api.post(f"/api/v1/calendar-feeds/{fresh['id']}/revoke/")
    assert client.get(fresh["url"].removeprefix("http://testserver")).status_code == 404


def test_feed_for_someone_else_or_for_both_is_refused(rota, alice, bob):
    api = client_for(alice)

    other = api.post("/api/v1/calendar-feeds/", {"user": bob.pk}, format="json")
    both = api.post(
        "/api/v1/calendar-feeds/", {"user": alice.pk, "schedule": rota.pk}, format="json"
    )

    assert other.status_code == 400 and "user" in other.json()
    assert both.status_code == 400
    assert not CalendarFeed.objects.exists()


def test_only_staff_revoke_schedule_feeds(rota, alice):
    feed = CalendarFeed.objects.create(schedule=rota)

    assert client_for(alice).post(f"/api/v1/calendar-feeds/{feed.pk}/revoke/").status_code == 403
    staff = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert staff.post(f"/api/v1/calendar-feeds/{feed.pk}/revoke/").json()["revoked_at"]
