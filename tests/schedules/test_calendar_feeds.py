"""iCal feeds that calendar apps subscribe to: content, stable UIDs, ETags, revocation."""

import datetime as dt

import icalendar
import pytest
import time_machine
import vobject
from django.core.exceptions import ValidationError
from django.urls import reverse

from schedules.models import CalendarFeed, Layer, LayerMember, Override, Schedule, feed_recreate
from tests.factories import UserFactory
from tests.paging.test_escalation_engine import deactivate

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def rota(name: str, *people, unit="weeks") -> Schedule:
    schedule = Schedule.objects.create(name=name, time_zone="Europe/Berlin")
    layer = Layer.objects.create(
        schedule=schedule, name="Primary", shift_unit=unit, handoff_date=dt.date(2026, 1, 5)
    )
    for position, person in enumerate(people):
        LayerMember.objects.create(layer=layer, user=person, position=position)
    return schedule


def fetch(client, feed, **headers):
    return client.get(reverse("calendar-feed", args=[feed.token]), headers=headers)


def events(body: bytes) -> list:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_schedule_feed_lists_everyones_shifts_for_a_year_ahead(client, alice, bob):
    feed = CalendarFeed.objects.create(schedule=rota("Payments", alice, bob))

    response = fetch(client, feed)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["X-WR-CALNAME"] == "On call: Payments"
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.content.decode()
    found = events(response.content)
    assert 55 <= len(found) <= 58  # weekly shifts, 30 days back to 365 days ahead
    summaries = {str(e["SUMMARY"]) for e in found}
    assert summaries == {"On call: Payments (Alice Adams)", "On call: Payments (Bob Brown)"}
    first = found[0]
    # The first shift began before the window (30 days back) and keeps its true start.
    assert first.decoded("DTSTART") == dt.datetime(2026, 10, 19, 7, 0, tzinfo=dt.UTC)  # 9:00 CEST
    assert all(e.decoded("DTSTART").tzinfo is not None for e in found)


def test_a_feed_holds_at_most_the_event_cap_the_current_and_coming_shifts_first(
    client, alice, bob, settings
):
    settings.CALENDAR_FEED_MAX_EVENTS = 20
    feed = CalendarFeed.objects.create(schedule=rota("Payments", alice, bob, unit="hours"))

    found = events(fetch(client, feed).content)

    assert len(found) == 20  # not the ~9,500 hourly shifts of the window
    assert found[0].decoded("DTEND") > NOW  # the shift on call now comes first
    assert found[0].decoded("DTSTART") <= NOW


def test_person_feed_holds_only_their_shifts_across_schedules(client, alice, bob):
    rota("Payments", alice, bob)
    rota("Search", bob, alice, unit="days")
    feed = CalendarFeed.objects.create(user=alice)

    found = events(fetch(client, feed).content)

    assert {str(e["SUMMARY"]).split(" (")[0] for e in found} == {
        "On call: Payments",
        "On call: Search",
    }
    assert all(str(e["SUMMARY"]).endswith("(Alice Adams)") for e in found)
    starts = [e.decoded("DTSTART") for e in found]
    assert starts == sorted(starts)


def test_override_shows_in_the_covering_persons_feed(client, alice, bob):
    carol = UserFactory(username="carol", first_name="Carol", last_name="Cole")
    schedule = rota("Payments", alice, bob)
    Override.objects.create(
        schedule=schedule,
        user=carol,
        start=NOW + dt.timedelta(days=2),
        end=NOW + dt.timedelta(days=3),
    )

    (event,) = events(fetch(client, CalendarFeed.objects.create(user=carol)).content)

    assert event.decoded("DTSTART") == NOW + dt.timedelta(days=2)
    assert "override" in str(event["DESCRIPTION"])


def test_uids_stay_the_same_across_refreshes_while_shifts_are_unchanged(client, alice, bob):
    schedule = rota("Payments", alice, bob)
    feed = CalendarFeed.objects.create(schedule=schedule)
    before = {str(e["UID"]): e.decoded("DTSTART") for e in events(fetch(client, feed).content)}

    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        after = {str(e["UID"]): e.decoded("DTSTART") for e in events(fetch(client, feed).content)}

    shared = before.keys() & after.keys()
    assert len(shared) == len(before)  # a day later, the same shifts (none left the window)
    assert all(before[uid] == after[uid] for uid in shared)


def test_etag_gives_304_until_the_schedule_changes(client, alice, bob):
    schedule = rota("Payments", alice, bob)
    feed = CalendarFeed.objects.create(schedule=schedule)
    etag = fetch(client, feed)["ETag"]

    again = fetch(client, feed, **{"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")

    Override.objects.create(schedule=schedule, user=bob, start=NOW, end=NOW + dt.timedelta(hours=4))
    changed = fetch(client, feed, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_revoked_or_unknown_token_is_404_and_recreating_gives_a_new_url(client, alice):
    feed = CalendarFeed.objects.create(user=alice)
    fresh = feed_recreate(feed=feed)

    assert fetch(client, feed).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    assert fetch(client, fresh).status_code == 200
    assert fresh.token != feed.token


def test_feed_parses_in_an_independent_parser(client, alice, bob):
    schedule = rota("Payments", alice, bob, unit="days")
    Override.objects.create(schedule=schedule, user=bob, start=NOW, end=NOW + dt.timedelta(hours=4))
    body = fetch(client, CalendarFeed.objects.create(schedule=schedule)).content.decode()

    parsed = vobject.readOne(body)

    vevents = parsed.vevent_list
    assert len(vevents) == len(events(body.encode()))
    assert all(e.dtstart.value < e.dtend.value for e in vevents)
    assert len({e.uid.value for e in vevents}) == len(vevents)
    assert parsed.x_wr_calname.value == "On call: Payments"


def test_feed_url_uses_public_url(alice, settings):
    settings.PUBLIC_URL = "https://oncall.example.com"
    feed = CalendarFeed.objects.create(user=alice)

    assert feed.url == f"https://oncall.example.com/calendar/{feed.token}.ics"


def test_feed_must_name_a_person_or_a_schedule_not_both(alice):
    with pytest.raises(ValidationError):
        CalendarFeed(user=alice, schedule=rota("x", alice)).full_clean()


def test_deactivated_persons_feed_stops_answering(client, alice, bob):
    rota("Payments", alice, bob)
    feed = CalendarFeed.objects.create(user=alice)
    assert fetch(client, feed).status_code == 200

    deactivate(alice)

    assert fetch(client, feed).status_code == 404
