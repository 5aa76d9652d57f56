"""Admin shows times with their zone, in the viewer's; override forms read the schedule's."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import Incident
from schedules.models import Override, Schedule
from tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db

# 08:03 UTC on a Saturday in winter: 09:03 in Berlin (CET), 03:03 in New York (EST).
OPENED = dt.datetime(2026, 12, 5, 8, 3, tzinfo=dt.UTC)


def admin_in(client, zone: str):
    """Sign a superuser whose own time zone is `zone` into admin."""
    client.force_login(
        UserFactory(username="root", is_staff=True, is_superuser=True, time_zone=zone)
    )
    return client


@pytest.fixture
def incident(payments):
    integration = IntegrationFactory(service=payments)
    found = alert_ingest(
        integration=integration, event=Event(action="trigger", summary="Disk"), payload={}
    )
    incident_escalate(found.pk)
    Incident.objects.filter(pk=found.pk).update(created_at=OPENED)
    return found


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Europe/Berlin", "Sat 5 Dec 09:03 CET"), ("America/New_York", "Sat 5 Dec 03:03 EST")],
)
def test_incident_times_show_in_the_viewers_zone_with_its_abbreviation(
    client, incident, zone, shown
):
    admin = admin_in(client, zone)

    listed = admin.get(reverse("admin:paging_incident_changelist")).content.decode()
    page = admin.get(reverse("admin:paging_incident_change", args=[incident.pk]))

    assert shown in listed
    assert shown in page.content.decode()


def test_times_fall_back_to_the_sites_zone(client, incident, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    admin = admin_in(client, "")

    listed = admin.get(reverse("admin:paging_incident_changelist")).content.decode()

    assert "Sat 5 Dec 17:03 JST" in listed


@pytest.fixture
def berlin(alice):
    return Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")


def override_form(schedule: Schedule, user, start: str, end: str) -> dict:
    return {
        "schedule": schedule.pk,
        "user": user.pk,
        "start_0": start.split()[0],
        "start_1": start.split()[1],
        "end_0": end.split()[0],
        "end_1": end.split()[1],
    }


def test_override_is_read_in_the_schedules_zone_and_shows_its_utc_time(client, berlin, bob):
    admin = admin_in(client, "America/New_York")
    form = admin.get(reverse("admin:schedules_override_add")).content.decode()
    assert "in the schedule's time zone" in form

    admin.post(
        reverse("admin:schedules_override_add"),
        override_form(berlin, bob, "2026-12-05 09:00", "2026-12-05 17:00"),
    )

    override = Override.objects.get()
    assert override.start == dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
    page = admin.get(reverse("admin:schedules_override_change", args=[override.pk]))
    text = page.content.decode()
    assert "in Europe/Berlin" in text
    assert 'name="start_1" value="09:00:00"' in text
    assert "2026-12-05 08:00 UTC" in text


def test_override_inline_shows_the_same_local_hour_as_the_preview(client, berlin, bob):
    admin = admin_in(client, "America/New_York")
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    Override.objects.create(
        schedule=berlin,
        user=bob,
        start=start + dt.timedelta(hours=2),
        end=start + dt.timedelta(hours=3),
    )
    hour = (start + dt.timedelta(hours=2)).astimezone(ZoneInfo("Europe/Berlin"))

    page = admin.get(reverse("admin:schedules_schedule_change", args=[berlin.pk])).content.decode()

    assert f'value="{hour:%H:%M:%S}"' in page
    assert f"{hour:%H:%M} {hour:%Z}" in page
