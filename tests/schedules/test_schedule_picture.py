"""The schedule picture: a pure function of the resolver's output, and the admin pages."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from schedules.models import Layer, LayerKind, LayerMember, LayerRestriction, Override, Schedule
from schedules.picture import schedule_picture
from schedules.resolver import LayerData, OverrideData, Restriction, ScheduleData
from tests.factories import UserFactory

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 2 December 2026, 15:00 in Berlin (CET, UTC+1).
NOW = dt.datetime(2026, 12, 2, 15, 0, tzinfo=BERLIN)
NAMES = {1: "Alice Adams", 2: "Bob Brown", 3: "Carol Cole"}


def weekly(*people: int, level: int = 1, restrictions=()) -> LayerData:
    """Return a weekly rotation handing off Monday 30 Nov 2026 09:00 local."""
    return LayerData(
        level=level,
        rotation=people,
        shift_count=1,
        shift_unit="weeks",
        handoff=dt.datetime(2026, 11, 30, 9, 0),
        restrictions=tuple(restrictions),
        name=f"Layer {level}",
    )


def test_picture_has_a_row_per_layer_then_who_is_paged():
    data = ScheduleData("Europe/Berlin", (weekly(1, 2, level=1), weekly(3, level=2)))

    picture = schedule_picture(data, NOW, NAMES)

    assert [row.label for row in picture.rows] == ["Layer 2", "Layer 1", "Who is paged"]
    assert picture.rows[-1].final


def test_days_are_labelled_in_the_schedule_zone_from_local_midnight():
    data = ScheduleData("Europe/Berlin", (weekly(1, 2),))

    picture = schedule_picture(data, NOW, NAMES)

    assert picture.zone == "Europe/Berlin"
    assert [day.label for day in picture.days][:3] == ["Wed 2", "Thu 3", "Fri 4"]
    assert len(picture.days) == 14
    assert picture.days[1].left == pytest.approx(100 / 14)


def test_bars_are_placed_by_percentage_and_the_handoff_changes_the_person():
    data = ScheduleData("Europe/Berlin", (weekly(1, 2),))

    final = schedule_picture(data, NOW, NAMES).rows[-1]

    # Alice until Monday 7 Dec 09:00 local: 5 days and 9 hours of 14 days.
    alice, bob, alice_again = final.bars
    assert (alice.name, bob.name, alice_again.name) == ("Alice Adams", "Bob Brown", "Alice Adams")
    assert alice.left == 0
    assert alice.width == pytest.approx((5 * 24 + 9) / (14 * 24) * 100)
    assert bob.left == pytest.approx(alice.width)


def test_each_person_keeps_one_colour_and_the_legend_names_everyone():
    data = ScheduleData("Europe/Berlin", (weekly(1, 2, level=1), weekly(2, level=2)))

    picture = schedule_picture(data, NOW, NAMES)

    colours = {bar.name: bar.colour for row in picture.rows for bar in row.bars if bar.name}
    assert colours["Alice Adams"] != colours["Bob Brown"]
    assert [(e.name, e.colour) for e in picture.legend] == [
        ("Alice Adams", colours["Alice Adams"]),
        ("Bob Brown", colours["Bob Brown"]),
    ]
    again = schedule_picture(ScheduleData("UTC", (weekly(2),)), NOW, NAMES)
    assert again.legend[0].colour == colours["Bob Brown"]


def test_picture_says_who_is_on_call_now():
    data = ScheduleData("Europe/Berlin", (weekly(1, 2),))

    assert schedule_picture(data, NOW, NAMES).on_call_now == "Alice Adams"
    assert schedule_picture(ScheduleData("UTC", ()), NOW, NAMES).on_call_now == ""


def test_gaps_in_who_is_paged_are_marked_as_nobody():
    office_hours = Restriction(kind="daily", start=dt.time(9), end=dt.time(17))
    data = ScheduleData("Europe/Berlin", (weekly(1, 2, restrictions=[office_hours]),))

    final = schedule_picture(data, NOW, NAMES).rows[-1]

    gaps = [bar for bar in final.bars if bar.kind == "gap"]
    assert gaps and all(bar.name == "" and bar.title.startswith("Nobody") for bar in gaps)
    # Wednesday 00:00 to 09:00 local, then 17:00 to Thursday 09:00.
    assert (gaps[0].left, gaps[0].width) == (0, pytest.approx(9 / (14 * 24) * 100))
    assert gaps[1].left == pytest.approx(17 / (14 * 24) * 100)
    assert gaps[1].width == pytest.approx(16 / (14 * 24) * 100)


def test_overrides_are_marked_in_who_is_paged_at_their_local_hours():
    start = dt.datetime(2026, 12, 3, 18, 0, tzinfo=BERLIN)
    override = OverrideData(person=3, start=start, end=start + dt.timedelta(hours=6))
    data = ScheduleData("Europe/Berlin", (weekly(1, 2),), (override,))

    final = schedule_picture(data, NOW, NAMES).rows[-1]

    covered = [bar for bar in final.bars if bar.kind == "override"]
    assert [bar.name for bar in covered] == ["Carol Cole"]
    assert covered[0].left == pytest.approx((24 + 18) / (14 * 24) * 100)
    assert "Thu 3 Dec 18:00" in covered[0].title and "CET" in covered[0].title


# --- Admin pages -------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rota(db, alice, bob):
    schedule = Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")
    layer = Layer.objects.create(
        schedule=schedule, name="Weekdays", level=1, handoff_date=dt.date(2026, 11, 30)
    )
    LayerMember.objects.create(layer=layer, user=bob, position=0)
    LayerMember.objects.create(layer=layer, user=alice, position=1)
    LayerRestriction.objects.create(
        layer=layer, kind="weekly", start_day=0, start_time="09:00", end_day=4, end_time="17:00"
    )
    Layer.objects.create(
        schedule=schedule,
        name="Holidays",
        level=2,
        kind=LayerKind.ICAL_URL,
        calendar_url="https://calendar.example.com/private/token123.ics",
    )
    return schedule


def layer_block(page: str, name: str) -> str:
    """Return the HTML of the layer summary headed `name`."""
    found = re.search(rf'<li class="layer">\s*<strong>{name}</strong>.*?</li>', page, re.S)
    assert found, f"no summary of layer {name}"
    return found.group(0)


def test_schedule_page_shows_each_layers_people_in_order_and_only_its_kinds_fields(
    staff_client, rota
):
    page = staff_client.get(reverse("admin:schedules_schedule_change", args=[rota.pk]))

    text = page.content.decode()
    rotation = layer_block(text, "Weekdays")
    assert re.search(r"Bob Brown.*Alice Adams", rotation, re.S)
    assert "Mon 09:00 → Fri 17:00" in rotation
    assert "calendar" not in rotation.lower()
    calendar = layer_block(text, "Holidays")
    assert "calendar.example.com" in calendar
    assert "token123" not in calendar
    assert "participants" not in calendar.lower() and "Bob Brown" not in calendar
    # The layers table no longer offers a calendar URL box on every rotation's row.
    assert 'name="layers-0-calendar_url"' not in text


def test_schedule_page_draws_the_next_14_days_in_its_zone(staff_client, rota):
    page = staff_client.get(reverse("admin:schedules_schedule_change", args=[rota.pk]))

    text = page.content.decode()
    assert "Who is paged" in text
    assert "Europe/Berlin" in text
    assert "Alice Adams" in text and "Bob Brown" in text
    assert text.count('class="day-label"') == 14


def test_picture_page_opens_for_staff_with_view_permission_only(client, rota):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_schedule"))
    client.force_login(viewer)

    page = client.get(reverse("admin:schedules_schedule_picture", args=[rota.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Primary" in text and "Who is paged" in text and "Bob Brown" in text
    assert "(times in Europe/Berlin)" in text
    assert "<form" not in text.split('id="content"', 1)[-1]


def test_picture_page_is_not_found_for_outsiders_when_teams_read_only_their_own(
    client, rota, settings
):
    settings.TEAMS_OPEN_READ = False
    client.force_login(UserFactory(username="nosy", is_staff=True))

    page = client.get(reverse("admin:schedules_schedule_picture", args=[rota.pk]))

    assert page.status_code == 404


def test_override_shows_in_the_picture_on_the_schedule_page(staff_client, rota, alice):
    start = dt.datetime.now(BERLIN).replace(minute=0, second=0, microsecond=0)
    carol = UserFactory(username="carol", first_name="Carol", last_name="Cole")
    Override.objects.create(
        schedule=rota, user=carol, start=start, end=start + dt.timedelta(hours=3)
    )

    page = staff_client.get(reverse("admin:schedules_schedule_change", args=[rota.pk]))

    assert re.search(r'class="bar override"[^>]*>\s*<title>Carol Cole', page.content.decode())


def layer_page(staff_client, rota, name: str) -> str:
    layer = rota.layers.get(name=name)
    return staff_client.get(
        reverse("admin:schedules_layer_change", args=[layer.pk])
    ).content.decode()


def test_a_rotations_page_shows_its_people_and_its_handoff_in_the_schedules_zone_and_utc(
    staff_client, rota
):
    page = layer_page(staff_client, rota, "Weekdays")

    assert 'name="members-TOTAL_FORMS"' in page
    assert 'name="calendar_url"' not in page
    assert "The first handoff, in Europe/Berlin." in page
    # Monday 30 November 2026, 09:00 in Berlin (CET) is 08:00 UTC.
    assert "2026-11-30 08:00 UTC" in page


def test_an_imported_calendars_page_shows_no_participants_or_rotation_fields(staff_client, rota):
    page = layer_page(staff_client, rota, "Holidays")

    assert 'name="members-TOTAL_FORMS"' not in page
    assert 'name="shift_count"' not in page
    assert 'name="calendar_url"' in page
