"""Imported calendars: Google, Outlook and Apple exports as schedule layers, fetched or uploaded."""

import datetime as dt
import logging
from pathlib import Path

import icalendar
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import default_team_id
from oncall.celery import app
from schedules.imports import calendar_refresh
from schedules.models import CalendarFeed, Layer, LayerKind, Schedule
from schedules.resolver import oncall_at, shifts
from schedules.tasks import refresh_calendars
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.fakes.feed_server import FeedServer

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "ics"
SECRET = "s3cr3t-token-4f9a"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def ics(name: str) -> bytes:
    return (FIXTURES / f"{name}.ics").read_bytes()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def carol(db):
    return UserFactory(username="carol", first_name="Carol", email="carol.chen@example.com")


@pytest.fixture
def dave(db):
    return UserFactory(username="dave", first_name="Dave", email="d.d@example.org")


@pytest.fixture
def feed(settings):
    # The local feed server is on loopback, which outbound fetches refuse unless allowed.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with FeedServer() as server:
        yield server


def uploaded(name: str, zone: str = "Europe/Berlin") -> Layer:
    schedule = Schedule.objects.create(name=f"{name} schedule", time_zone=zone)
    return Layer.objects.create(
        schedule=schedule,
        name="Imported",
        kind=LayerKind.ICAL_FILE,
        calendar_body=ics(name).decode(),
    )


def from_url(url: str, zone: str = "Europe/Berlin") -> Layer:
    schedule = Schedule.objects.create(name="Support", time_zone=zone)
    return Layer.objects.create(
        schedule=schedule, name="Nights", kind=LayerKind.ICAL_URL, calendar_url=url
    )


def refresh(layer: Layer) -> Layer:
    calendar_refresh(layer=layer, now=NOW)
    layer.refresh_from_db()
    return layer


def who(layer: Layer, instant: dt.datetime) -> tuple[int, ...]:
    schedule = layer.schedule
    return oncall_at(schedule.snapshot(instant, instant + dt.timedelta(seconds=1)), instant)


def layer_api(layer: Layer) -> dict:
    """Return the layer as a responder reads it through the API."""
    client = APIClient()
    client.force_authenticate(UserFactory(username="reader"))
    answer = client.get(f"/api/v1/schedules/{layer.schedule_id}/")
    assert answer.status_code == 200, answer.content
    return next(x for x in answer.json()["layers"] if x["id"] == layer.pk)


def timeline(layer: Layer, start: dt.datetime, end: dt.datetime):
    return [
        (s.person, s.start, s.end) for s in shifts(layer.schedule.snapshot(start, end), start, end)
    ]


# --- What the exports say -----------------------------------------------------------------------


def test_google_export_recurrences_exceptions_and_all_day_events(alice, bob, carol):
    layer = refresh(uploaded("google_primary"))

    assert layer.calendar_error == ""
    # Attendee e-mail (alice), username in the summary (bob), e-mail in any case (carol).
    assert who(layer, utc(2026, 11, 3, 12)) == (alice.pk,)
    assert who(layer, utc(2026, 11, 10, 12)) == (bob.pk,)
    # RECURRENCE-ID moved Bob's 23 Nov shift to 24 Nov: nobody in between.
    assert who(layer, utc(2026, 11, 23, 12)) == ()
    assert who(layer, utc(2026, 11, 25, 12)) == (bob.pk,)
    # EXDATE removed Alice's 30 Nov shift; the cancelled event on 7 Dec changes nothing.
    assert who(layer, utc(2026, 12, 1, 12)) == ()
    assert who(layer, utc(2026, 12, 7, 9, 30)) == (bob.pk,)
    # The all-day Christmas cover runs midnight to midnight in Berlin and wins over Bob's week.
    assert who(layer, utc(2026, 12, 23, 22, 59)) == (bob.pk,)
    assert who(layer, utc(2026, 12, 23, 23, 0)) == (carol.pk,)
    assert layer.calendar_unmapped == ["zoe@contractor.example"]
    # The weekly 09:00 handoff stays at 09:00 Berlin time across the end of summer time.
    found = timeline(layer, utc(2026, 10, 19), utc(2026, 11, 10))
    assert found[:3] == [
        (alice.pk, utc(2026, 10, 19, 7), utc(2026, 10, 26, 8)),
        (bob.pk, utc(2026, 10, 26, 8), utc(2026, 11, 2, 8)),
        (alice.pk, utc(2026, 11, 2, 8), utc(2026, 11, 9, 8)),
    ]


def test_outlook_export_windows_zone_names_organizer_and_exdate(alice, bob):
    layer = refresh(uploaded("outlook_support"))

    nights = timeline(layer, utc(2026, 10, 22), utc(2026, 10, 27))
    assert nights == [
        (bob.pk, utc(2026, 10, 22, 16), utc(2026, 10, 23, 6)),  # 18:00-08:00 CEST
        (bob.pk, utc(2026, 10, 23, 16), utc(2026, 10, 24, 6)),
        # 24 Oct is an EXDATE; 25 Oct is after the change to CET.
        (bob.pk, utc(2026, 10, 25, 17), utc(2026, 10, 26, 7)),
        (bob.pk, utc(2026, 10, 26, 17), utc(2026, 10, 27, 0)),
    ]
    # The all-day weekend is Alice's (attendee) though Bob organized it.
    assert who(layer, utc(2026, 10, 30, 23, 0)) == (alice.pk,)
    assert who(layer, utc(2026, 11, 1, 22, 59)) == (alice.pk,)
    assert who(layer, utc(2026, 11, 1, 23, 0)) == ()
    assert layer.calendar_unmapped == []


def test_apple_export_username_in_summary_and_moved_occurrence(dave):
    layer = refresh(uploaded("apple_weekend", zone="America/New_York"))

    weekends = timeline(layer, utc(2026, 10, 31), utc(2026, 11, 17))
    assert weekends == [
        (dave.pk, utc(2026, 10, 31, 22), utc(2026, 11, 2, 13)),  # 18:00 EDT to 08:00 EST
        (dave.pk, utc(2026, 11, 7, 23), utc(2026, 11, 9, 13)),
        (dave.pk, utc(2026, 11, 15, 1), utc(2026, 11, 16, 13)),  # moved to start 20:00
    ]
    assert layer.calendar_unmapped == ["Holiday cover: TBD"]


def test_imported_shifts_show_in_our_ical_export(client, alice, bob, carol):
    layer = refresh(uploaded("google_primary"))
    ours = CalendarFeed.objects.create(schedule=layer.schedule)

    body = client.get(reverse("calendar-feed", args=[ours.token])).content

    events = list(icalendar.Calendar.from_ical(body).walk("VEVENT"))
    christmas = [e for e in events if e.decoded("DTSTART") == utc(2026, 12, 23, 23)]
    assert [str(e["SUMMARY"]) for e in christmas] == [f"On call: {layer.schedule.name} (Carol)"]


def test_person_only_in_an_imported_calendar_gets_their_shifts_in_their_own_feed(
    client, alice, bob, carol
):
    layer = refresh(uploaded("google_primary"))
    carols = CalendarFeed.objects.create(user=carol)

    body = client.get(reverse("calendar-feed", args=[carols.token])).content

    events = list(icalendar.Calendar.from_ical(body).walk("VEVENT"))
    found = [(e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in events]
    # The all-day Christmas cover: 24, 25 and 26 December, midnight to midnight in Berlin.
    assert found == [
        (utc(2026, 12, 23, 23), utc(2026, 12, 26, 23), f"On call: {layer.schedule.name} (Carol)")
    ]


def test_an_imported_layer_under_a_rotation_fills_its_gaps(alice, bob, carol):
    layer = refresh(uploaded("google_primary"))
    layer.level = 2
    layer.save()
    rotation = Layer.objects.create(
        schedule=layer.schedule, level=1, shift_unit="days", handoff_date=dt.date(2026, 11, 1)
    )
    rotation.members.create(user=carol, position=0)

    assert who(layer, utc(2026, 11, 3, 12)) == (alice.pk,)  # the calendar, higher level
    assert who(layer, utc(2026, 12, 1, 12)) == (carol.pk,)  # the EXDATE gap: the rotation


# --- Fetching -----------------------------------------------------------------------------------


def test_feed_is_fetched_conditionally_and_a_failure_keeps_the_last_good_copy(
    feed, alice, bob, admin_client, caplog
):
    caplog.set_level(logging.DEBUG)  # urllib3 logs request paths at DEBUG unless told not to
    feed.state.body = ics("outlook_support")
    layer = refresh(from_url(feed.url(f"/owa/calendar/{SECRET}/reachcalendar.ics?key={SECRET}")))
    good = timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3))
    assert len(good) == 7 and layer.calendar_refreshed_at == NOW

    layer = refresh(layer)  # unchanged: the server answers 304 and nothing changes
    assert feed.state.requests[-1].headers["If-None-Match"] == '"v1"'
    assert feed.state.requests[-1].headers["If-Modified-Since"] == feed.state.last_modified
    assert timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3)) == good

    feed.state.status = 500
    layer = refresh(layer)
    assert layer.calendar_error == "127.0.0.1: HTTP 500"
    assert timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3)) == good

    feed.state.status, feed.state.etag, feed.state.body = 200, "", b"<html>Sign in</html>"
    layer = refresh(layer)
    assert layer.calendar_error == "127.0.0.1: not iCalendar"
    assert timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3)) == good
    assert layer.calendar_refreshed_at == NOW  # the last good refresh

    page = admin_client.get(reverse("admin:schedules_layer_change", args=[layer.pk]))
    assert "127.0.0.1: not iCalendar" in page.content.decode()
    assert SECRET not in caplog.text
    assert "127.0.0.1" in caplog.text


def test_unreachable_or_oversized_feeds_are_errors_that_name_only_the_host(feed, alice, bob):
    feed.state.body = b"BEGIN:VCALENDAR\r\n" + b"X-FILL:" + b"x" * (6 * 1024 * 1024) + b"\r\n"
    layer = refresh(from_url(feed.url(f"/{SECRET}.ics")))
    assert layer.calendar_error == "127.0.0.1: too large"

    layer.calendar_url = f"webcal://127.0.0.1:9/{SECRET}.ics"  # nothing listens on port 9
    layer.save()
    layer = refresh(layer)
    assert layer.calendar_error == "127.0.0.1: could not connect"
    assert SECRET not in layer.calendar_error


def test_a_calendar_on_a_private_address_is_refused_unless_its_network_is_allowed(
    feed, alice, bob, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the default
    feed.state.body = ics("outlook_support")
    layer = refresh(from_url(feed.url(f"/{SECRET}.ics")))
    assert layer.calendar_error == "127.0.0.1: refused: private address"
    assert feed.state.requests == [] and not layer.imported_events.exists()

    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    layer = refresh(layer)
    assert layer.calendar_error == "" and layer.imported_events.count() == 7


def test_a_redirect_to_a_private_address_is_refused(feed, alice, bob):
    feed.state.redirect = "http://169.254.169.254/latest/meta-data/"
    layer = refresh(from_url(feed.url(f"/{SECRET}.ics")))
    assert layer.calendar_error == "169.254.169.254: refused: private address"
    assert layer.calendar_error == layer_api(layer)["calendar_error"]


BODY_MARKER = "aws_secret_access_key=AKIA-BODY-MARKER"


@pytest.mark.parametrize(
    "body",
    [
        f"<html>Sign in {BODY_MARKER}</html>",
        f"BEGIN:VCALENDAR\r\n{BODY_MARKER}\r\nEND:VCALENDAR\r\n",
    ],
)
def test_the_response_body_never_reaches_the_error_or_the_logs(feed, alice, caplog, body):
    caplog.set_level(logging.DEBUG)
    feed.state.body = body.encode()
    layer = refresh(from_url(feed.url(f"/{SECRET}.ics")))
    assert layer.calendar_error == "127.0.0.1: not iCalendar"
    assert BODY_MARKER not in layer_api(layer)["calendar_error"]
    assert BODY_MARKER not in caplog.text and "BODY-MARKER" not in caplog.text


TOO_MANY = "too many events: more than 200 from 70 days ago to 405 days ahead"


def minutely(start: str = "20261101T000000Z") -> str:
    """A 171-byte calendar whose rule repeats every minute, forever."""
    lines = [
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT",
        f"DTSTART:{start}",
        "DURATION:PT1M",
        "RRULE:FREQ=MINUTELY",
        "UID:m@x",
        "SUMMARY:alice",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def test_a_calendar_with_too_many_events_is_refused_and_the_last_good_copy_kept(
    alice, bob, settings
):
    settings.CALENDAR_IMPORT_MAX_EVENTS = 200
    layer = refresh(uploaded("outlook_support"))
    good = timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3))
    assert len(good) == 7

    layer.calendar_body = minutely()
    layer.save()
    layer = refresh(layer)
    assert layer.calendar_error == TOO_MANY
    assert layer_api(layer)["calendar_error"] == layer.calendar_error
    assert layer.imported_events.count() == 7
    assert timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3)) == good


def test_a_feed_larger_than_the_byte_cap_is_refused(feed, alice, settings):
    settings.CALENDAR_IMPORT_MAX_BYTES = 4096
    feed.state.body = ics("outlook_support") + b"X-FILL:" + b"x" * 8192 + b"\r\n"
    layer = refresh(from_url(feed.url(f"/{SECRET}.ics")))
    assert layer.calendar_error == "127.0.0.1: too large"


def test_refresh_task_runs_on_its_own_queue_with_time_limits():
    from oncall.routing import CALENDAR_QUEUE, QUEUE_NAMES, route

    assert route("schedules.refresh_calendars", (), {}, {}) == {"queue": CALENDAR_QUEUE}
    assert CALENDAR_QUEUE in QUEUE_NAMES
    task = app.tasks["schedules.refresh_calendars"]
    assert 0 < task.soft_time_limit < task.time_limit


def test_beat_task_refreshes_due_calendars(feed, frozen, alice, bob, settings):
    settings.CALENDAR_REFRESH_SECONDS = 900
    feed.state.body = ics("outlook_support")
    layer = from_url(feed.url("/support.ics"))

    refresh_calendars()
    assert len(timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3))) == 7
    refresh_calendars()  # checked a moment ago: not due
    assert len(feed.state.requests) == 1

    feed.state.body, feed.state.etag = ics("outlook_support").replace(b"COUNT=7", b"COUNT=3"), ""
    frozen.shift(dt.timedelta(seconds=901))
    refresh_calendars()
    assert len(feed.state.requests) == 2
    assert len(timeline(layer, utc(2026, 10, 20), utc(2026, 11, 3))) == 3
    app.loader.import_default_modules()
    assert "schedules.refresh_calendars" in {e["task"] for e in app.conf.beat_schedule.values()}


# --- Admin --------------------------------------------------------------------------------------


def test_admin_upload_stores_a_calendar_and_shows_unmapped_names(admin_client, dave):
    schedule = Schedule.objects.create(name="Weekend", time_zone="America/New_York")
    upload = SimpleUploadedFile("weekend.ics", ics("apple_weekend"), "text/calendar")

    response = admin_client.post(
        reverse("admin:schedules_layer_add"),
        {
            "schedule": schedule.pk,
            "name": "Weekends",
            "level": 1,
            "kind": LayerKind.ICAL_FILE,
            "shift_count": 1,
            "shift_unit": "weeks",
            "handoff_time": "09:00",
            "calendar_upload": upload,
            **inline_management(),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    layer = Layer.objects.get(schedule=schedule)
    assert layer.imported_events.count() == 6
    page = admin_client.get(reverse("admin:schedules_layer_change", args=[layer.pk])).content
    assert "Holiday cover: TBD" in page.decode()


def test_admin_refuses_a_file_that_is_not_a_calendar(admin_client):
    schedule = Schedule.objects.create(name="Weekend", time_zone="UTC")
    upload = SimpleUploadedFile("weekend.ics", b"<html>Sign in</html>", "text/calendar")

    response = admin_client.post(
        reverse("admin:schedules_layer_add"),
        {
            "schedule": schedule.pk,
            "name": "Weekends",
            "level": 1,
            "kind": LayerKind.ICAL_FILE,
            "shift_count": 1,
            "shift_unit": "weeks",
            "handoff_time": "09:00",
            "calendar_upload": upload,
            **inline_management(),
        },
    )

    assert response.status_code == 200
    assert "not an iCalendar (.ics) file" in response.content.decode()
    assert not Layer.objects.exists()


def test_admin_refresh_now_action_reports_the_outcome(admin_client, feed, alice, bob):
    feed.state.body = ics("outlook_support")
    layer = from_url(feed.url("/support.ics"))

    response = admin_client.post(
        reverse("admin:schedules_layer_changelist"),
        {"action": "refresh_now", "_selected_action": [layer.pk]},
        follow=True,
    )

    assert "calendar refreshed" in response.content.decode()
    assert layer.imported_events.count() == 7
    feed.state.status = 500
    response = admin_client.post(
        reverse("admin:schedules_layer_changelist"),
        {"action": "refresh_now", "_selected_action": [layer.pk]},
        follow=True,
    )
    assert "refresh failed, kept the last good copy: 127.0.0.1: HTTP 500" in (
        response.content.decode()
    )
    assert layer.imported_events.count() == 7


def test_admin_refresh_now_on_a_rotation_says_there_is_nothing_to_refresh(admin_client, alice):
    schedule = Schedule.objects.create(name="Support", time_zone="UTC")
    layer = Layer.objects.create(schedule=schedule, handoff_date=dt.date(2026, 1, 5))

    response = admin_client.post(
        reverse("admin:schedules_layer_changelist"),
        {"action": "refresh_now", "_selected_action": [layer.pk]},
        follow=True,
    )

    assert "No imported calendar selected" in response.content.decode()


def test_a_feed_layer_needs_a_calendar_url(admin_client):
    schedule = Schedule.objects.create(name="Support", time_zone="UTC")

    response = admin_client.post(
        reverse("admin:schedules_layer_add"),
        {
            "schedule": schedule.pk,
            "name": "Nights",
            "level": 1,
            "kind": LayerKind.ICAL_URL,
            "calendar_url": "ftp://example.com/cal.ics",
            "shift_count": 1,
            "shift_unit": "weeks",
            "handoff_time": "09:00",
            **inline_management(),
        },
    )

    assert response.status_code == 200
    assert "Enter an http, https or webcal URL" in response.content.decode()
    assert not Layer.objects.exists()


def inline_management() -> dict[str, int]:
    """The empty inline formsets of the layer page (members and restrictions)."""
    out = {}
    for prefix in ("members", "restrictions"):
        out |= {
            f"{prefix}-TOTAL_FORMS": 0,
            f"{prefix}-INITIAL_FORMS": 0,
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    return out


def test_a_feed_layer_added_on_the_schedule_page_is_fetched_at_once(admin_client, feed, bob):
    feed.state.body = ics("outlook_support")

    response = admin_client.post(
        reverse("admin:schedules_schedule_add"),
        {
            "name": "Support",
            "team": default_team_id(),
            "time_zone": "Europe/Berlin",
            "handoff_notice": "on",
            "layers-TOTAL_FORMS": 1,
            "layers-INITIAL_FORMS": 0,
            "layers-0-name": "Nights",
            "layers-0-level": 1,
            "layers-0-kind": LayerKind.ICAL_URL,
            "layers-0-shift_count": 1,
            "layers-0-shift_unit": "weeks",
            "layers-0-handoff_time": "09:00",
            "layers-0-calendar_url": feed.url("/support.ics"),
            "overrides-TOTAL_FORMS": 0,
            "overrides-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    schedule = Schedule.objects.get(name="Support")
    assert schedule.handoff_notice
    # Six nights, and the weekend: its attendee is nobody here, so its organizer, Bob.
    assert schedule.layers.get().imported_events.filter(user=bob).count() == 7


def test_a_new_url_is_fetched_whole_not_conditionally(admin_client, feed, alice, bob):
    feed.state.body = ics("outlook_support")
    layer = refresh(from_url(feed.url("/old.ics")))
    with FeedServer() as other:  # same ETag and Last-Modified: a 304 would keep the old copy
        other.state.body = ics("google_primary")

        admin_client.post(
            reverse("admin:schedules_layer_change", args=[layer.pk]),
            {
                "schedule": layer.schedule.pk,
                "name": "Nights",
                "level": 1,
                "kind": LayerKind.ICAL_URL,
                "calendar_url": other.url("/new.ics"),
                "shift_count": 1,
                "shift_unit": "weeks",
                "handoff_time": "09:00",
                **inline_management(),
            },
        )

        assert "If-None-Match" not in other.state.requests[0].headers
    assert who(layer, utc(2026, 11, 3, 12)) == (alice.pk,)  # the Google calendar's


def _post_file_layer(text: str):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    layer = {"name": "Weekends", "kind": LayerKind.ICAL_FILE, "calendar_ics": text}
    body = {"name": "Weekend", "time_zone": "UTC", "layers": [layer]}
    return client_for(root).post("/api/v1/schedules/", body, format="json")


def test_api_refuses_an_ics_text_that_is_not_a_calendar_and_stores_nothing(db):
    response = _post_file_layer("<html>Sign in</html>")

    assert response.status_code == 400
    assert response.json() == {
        "layers": {"0": {"calendar_ics": ["the .ics file's text is not iCalendar"]}}
    }
    assert not Schedule.objects.exists()


def test_api_refuses_an_ics_text_over_the_byte_cap_and_stores_nothing(db, settings):
    settings.CALENDAR_IMPORT_MAX_BYTES = 1000

    response = _post_file_layer(ics("apple_weekend").decode())

    assert response.status_code == 400
    assert response.json() == {
        "layers": {"0": {"calendar_ics": ["the .ics file's text is too large"]}}
    }
    assert not Schedule.objects.exists()


def test_api_takes_an_ics_text_within_the_cap(db):
    response = _post_file_layer(ics("apple_weekend").decode())

    assert response.status_code == 201, response.json()
    assert Layer.objects.get().calendar_body.startswith("BEGIN:VCALENDAR")
