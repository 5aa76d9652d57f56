"""Schedules as stored: restrictions and overrides reach the resolver and the pager."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Notification
from schedules.models import CalendarFeed, Layer, LayerMember, LayerRestriction, Override, Schedule
from tests.factories import IntegrationFactory, PolicyFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rota(alice):
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(schedule=schedule, handoff_date=dt.date(2026, 1, 5))
    LayerMember.objects.create(layer=layer, user=alice)
    return schedule


def page(schedule) -> list[str]:
    service = ServiceFactory(escalation_policy=PolicyFactory(levels=[[schedule]]))
    integration = IntegrationFactory(service=service)
    incident = alert_ingest(
        integration=integration, event=Event(action="trigger", summary="x"), payload={}
    )
    incident_escalate(incident.pk)
    return [n.user.username for n in Notification.objects.filter(incident=incident)]


def test_schedule_target_pages_whoever_is_on_call(rota, twilio):
    assert page(rota) == ["alice"]


def test_override_pages_the_person_covering(rota, bob, twilio):
    now = timezone.now()
    Override.objects.create(
        schedule=rota, user=bob, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1)
    )

    assert page(rota) == ["bob"]


def test_override_in_the_past_changes_nothing(rota, bob, twilio):
    now = timezone.now()
    Override.objects.create(
        schedule=rota, user=bob, start=now - dt.timedelta(days=3), end=now - dt.timedelta(days=2)
    )

    assert page(rota) == ["alice"]


def test_restrictions_reach_the_resolver(rota):
    layer = rota.layers.get()
    LayerRestriction.objects.create(
        layer=layer,
        kind="weekly",
        start_day=4,
        start_time=dt.time(18),
        end_day=0,
        end_time=dt.time(9),
    )

    (restriction,) = rota.snapshot().layers[0].restrictions
    assert (restriction.kind, restriction.start_day, restriction.end_day) == ("weekly", 4, 0)
    assert str(layer.restrictions.get()) == "Fri 18:00 → Mon 09:00"


def test_override_ending_before_it_starts_is_an_admin_form_error(client, rota, bob):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:schedules_override_add"),
        {
            "schedule": rota.pk,
            "user": bob.pk,
            "start_0": "2026-12-01",
            "start_1": "10:00",
            "end_0": "2026-12-01",
            "end_1": "09:00",
        },
    )

    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    assert not Override.objects.exists()


def test_admin_pages_for_overrides_restrictions_and_feeds_render(client, rota, bob):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    now = timezone.now()
    override = Override.objects.create(
        schedule=rota, user=bob, start=now, end=now + dt.timedelta(hours=1)
    )
    feed = CalendarFeed.objects.create(schedule=rota)
    LayerRestriction.objects.create(
        layer=rota.layers.get(), kind="daily", start_time=dt.time(9), end_time=dt.time(17)
    )

    for name, obj in [("override", override), ("calendarfeed", feed), ("layer", rota.layers.get())]:
        assert client.get(reverse(f"admin:schedules_{name}_changelist")).status_code == 200
        page = client.get(reverse(f"admin:schedules_{name}_change", args=[obj.pk]))
        assert page.status_code == 200
    assert (
        feed.url
        in client.get(
            reverse("admin:schedules_calendarfeed_change", args=[feed.pk])
        ).content.decode()
    )

    client.post(
        reverse("admin:schedules_calendarfeed_changelist"),
        {"action": "recreate", "_selected_action": [feed.pk]},
    )
    feed.refresh_from_db()
    assert feed.revoked_at is not None
    assert CalendarFeed.objects.filter(schedule=rota, revoked_at__isnull=True).count() == 1


def test_oncall_now_prints_who_is_on_call_per_schedule(rota, bob):
    out = io.StringIO()
    Override.objects.create(
        schedule=rota,
        user=bob,
        start=dt.datetime(2026, 12, 24, 18, tzinfo=dt.UTC),
        end=dt.datetime(2026, 12, 25, 6, tzinfo=dt.UTC),
    )

    call_command(
        "oncall_now", "--schedule", "Primary", "--at", "2026-12-24T22:00:00+00:00", stdout=out
    )

    assert out.getvalue() == "Primary: Bob Brown (until 2026-12-25 06:00 UTC)\n"


def test_oncall_now_names_a_bad_argument(rota):
    with pytest.raises(CommandError, match="--at"):
        call_command("oncall_now", "--at", "tomorrow")
    with pytest.raises(CommandError, match="--schedule"):
        call_command("oncall_now", "--schedule", "nope")


def test_schedule_page_previews_who_is_on_call(client, rota, alice):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:schedules_schedule_change", args=[rota.pk])).content.decode()

    assert "On call now: Alice Adams" in page
    assert "(times in Europe/Berlin)" in page


@pytest.fixture
def weekly(alice, bob):
    """Alice, then Bob, a week each from Monday 09:00 in New York."""
    schedule = Schedule.objects.create(name="Primary on-call", time_zone="America/New_York")
    layer = Layer.objects.create(
        schedule=schedule, shift_unit="weeks", handoff_date=dt.date(2026, 1, 5)
    )
    LayerMember.objects.create(layer=layer, user=alice, position=0)
    LayerMember.objects.create(layer=layer, user=bob, position=1)
    return schedule


def test_oncall_now_prints_the_end_of_a_weekly_shift_days_away(weekly):
    out = io.StringIO()

    # Thursday evening in Berlin; the weekly handoff is Monday 09:00 in New York.
    call_command("oncall_now", "--at", "2026-12-24T22:00:00+01:00", stdout=out)

    assert out.getvalue() == "Primary on-call: Alice Adams (until 2026-12-28 15:00 UTC+01:00)\n"


def test_oncall_now_speaks_the_schedules_zone_without_at(weekly):
    out = io.StringIO()

    with time_machine.travel(dt.datetime(2026, 12, 24, 21, tzinfo=dt.UTC), tick=False):
        call_command("oncall_now", stdout=out)

    assert out.getvalue() == "Primary on-call: Alice Adams (until 2026-12-28 09:00 EST)\n"


def test_oncall_now_names_the_schedules_there_are(rota):
    with pytest.raises(CommandError, match="there are: 'Primary'"):
        call_command("oncall_now", "--schedule", "Secondary")
