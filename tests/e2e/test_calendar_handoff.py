"""Beat's schedule tasks in a real worker: an imported calendar is fetched, its shift handed off."""

import datetime as dt

import pytest
from celery import current_app
from django.utils import timezone

from schedules.models import Layer, LayerKind, Schedule
from tests.fakes.feed_server import FeedServer
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def calendar_starting(start: dt.datetime, email: str) -> bytes:
    stamp = f"{start:%Y%m%dT%H%M%SZ}"
    end = f"{start + dt.timedelta(hours=8):%Y%m%dT%H%M%SZ}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "BEGIN:VEVENT",
        f"DTSTART:{stamp}",
        f"DTEND:{end}",
        f"DTSTAMP:{stamp}",
        "UID:e2e-shift@google.com",
        f"ATTENDEE;CN={email};PARTSTAT=ACCEPTED:mailto:{email}",
        "SUMMARY:Primary on-call",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_worker_imports_a_feed_and_sends_the_handoff_sms(e2e, twilio, alice, bob):
    started = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=2)
    with FeedServer() as feed:
        feed.state.body = calendar_starting(started, alice.email)
        schedule = Schedule.objects.create(name="Imported", time_zone="UTC", handoff_notice=True)
        layer = Layer.objects.create(
            schedule=schedule, kind=LayerKind.ICAL_URL, calendar_url=feed.url("/team.ics")
        )

        current_app.send_task("schedules.refresh_calendars")
        wait_until(lambda: layer.imported_events.exists(), timeout=30, what="the import")
        current_app.send_task("paging.handoff_notices")
        (sms,) = twilio.wait_for_messages(1, to="+15550100001")

    assert sms.body.startswith("On call: your shift on Imported started ")
    layer.refresh_from_db()
    assert layer.calendar_refreshed_at is not None and layer.calendar_error == ""
