"""The Schedules pages: who is on call, my shifts, covering a shift and asking for cover.

Payments primary (Berlin time) hands over every 6 hours between Bob and Rita, from 1 January
2026 at midnight; Maria manages Payments, Carl is a third responder.
"""

import datetime as dt
import html
import re
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from paging.models import HandoffNotice
from paging.notify.handoffs import handoffs_send_due
from paging.tasks import handoff_notices
from schedules import swaps
from schedules.models import CoverRequest, Layer, Override, Schedule
from schedules.overrides import CoverRefused
from schedules.picture import local_label
from schedules.resolver import shifts
from tests.factories import ContactMethodFactory
from tests.web.conftest import member
from tests.web.test_pages import signed_in
from tests.web.test_pages import text as tagless

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
PHONES = {"bob": "+15550100002", "rita": "+15550100001", "maria": "+15550100009"}


def text(response) -> str:
    """Return the page's visible words, entities read."""
    return html.unescape(tagless(response))


def with_phone(user):
    ContactMethodFactory(user=user, address=PHONES[user.username])
    return user


@pytest.fixture
def bob(payments_team):
    return with_phone(
        member(payments_team, Role.RESPONDER, "bob", first_name="Bob", last_name="Brown")
    )


@pytest.fixture
def rita_phone(rita):
    return with_phone(rita)


@pytest.fixture
def carl(payments_team):
    return member(payments_team, Role.RESPONDER, "carl", first_name="Carl", last_name="Cole")


@pytest.fixture
def maria(payments_team):
    user = member(payments_team, Role.MANAGER, "maria", first_name="Maria", last_name="Mills")
    return with_phone(user)


def rotation(team, name: str, *people) -> Schedule:
    schedule = Schedule.objects.create(name=name, team=team, time_zone="Europe/Berlin")
    layer = Layer.objects.create(
        schedule=schedule,
        shift_unit="hours",
        shift_count=6,
        handoff_date=dt.date(2026, 1, 1),
        handoff_time=dt.time(0, 0),
    )
    for position, person in enumerate(people):
        layer.members.create(user=person, position=position)
    return schedule


@pytest.fixture
def primary(payments_team, bob, rita):
    return rotation(payments_team, "Payments primary", bob, rita)


def shift_of(schedule, person, *, after=dt.timedelta(0)):
    """Return `person`'s first shift in `schedule` starting at least `after` from now."""
    start = timezone.now() + after
    begin, end = start - dt.timedelta(days=1), start + dt.timedelta(days=3)
    found = shifts(schedule.snapshot(begin, end), begin, end)
    return next(s for s in found if s.person == person.pk and s.start >= start)


def local(instant: dt.datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def span(shift) -> dict:
    return {"start": local(shift.start), "end": local(shift.end)}


def final_row(response) -> str:
    """Return the picture's "who is paged" row: one <title> per person's span."""
    return response.content.decode().split('aria-label="Who is paged"', 1)[1].split("</svg>")[0]


def bobs_bar(shift) -> str:
    return (
        f"<title>Bob Brown: {local_label(shift.start, BERLIN)} to {local_label(shift.end, BERLIN)}"
    )


def ask(client, schedule, shift) -> CoverRequest:
    response = client.post(f"/schedules/{schedule.pk}/ask/", span(shift))
    assert response.status_code == 302, text(response)
    return CoverRequest.objects.get()


@pytest.mark.parametrize("path", ["/schedules/", "/schedules/1/", "/schedules/1/cover/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_schedules_shows_my_teams_schedule_who_is_on_call_and_my_shifts(client, rita, primary):
    response = signed_in(client, rita).get("/schedules/")

    words = text(response)
    assert response.status_code == 200
    assert "My teams' schedules" in words
    assert "Payments primary On call now:" in words
    assert f'href="/schedules/{primary.pk}/"' in response.content.decode()
    # Rita's shifts for 8 weeks: one every 12 hours, the first 50 each with "Ask for cover".
    assert words.count("Ask for cover") == 50
    assert re.search(r"The first 50 of your 11\d shifts in the next 8 weeks", words)
    assert "Other teams' schedules" not in words


def test_the_schedule_page_shows_the_picture_who_is_on_call_and_cover_buttons(
    client, rita, bob, primary
):
    response = signed_in(client, rita).get(f"/schedules/{primary.pk}/")

    page = response.content.decode()
    words = text(response)
    assert response.status_code == 200
    assert 'class="schedule-picture"' in page and "schedules/picture.css" in page
    assert "Who is on call, the next 14 days" in words
    assert "(times in Europe/Berlin)" in words
    assert f"/schedules/{primary.pk}/cover/?person={bob.pk}" in page
    on_call = text(response).split("On call now: ", 1)[1]
    assert on_call.startswith(("Bob Brown", "Rita Reyes"))


def test_another_team_reads_schedules_only_when_reading_is_open(client, sam, primary, settings):
    settings.TEAMS_OPEN_READ = True
    client = signed_in(client, sam)

    listed = text(client.get("/schedules/"))
    page = client.get(f"/schedules/{primary.pk}/")

    assert "Other teams' schedules" in listed and "Payments primary Payments" in listed
    assert page.status_code == 200
    assert "You may read this schedule. Covering shifts is for the responders of Payments." in (
        text(page)
    )
    assert "/cover/" not in page.content.decode()

    settings.TEAMS_OPEN_READ = False
    assert "Payments primary" not in text(client.get("/schedules/"))
    assert client.get(f"/schedules/{primary.pk}/").status_code == 404


def test_covering_in_another_team_is_refused_in_words(client, sam, bob, primary):
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))

    response = signed_in(client, sam).post(
        f"/schedules/{primary.pk}/cover/", {**span(shift), "person": bob.pk}
    )

    assert response.status_code == 403
    assert (
        "You may not take shifts in Payments primary: you are not a responder of Payments."
        in text(response)
    )
    assert not Override.objects.exists()


def test_an_observer_may_neither_cover_nor_ask(client, otto, bob, primary):
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))
    client = signed_in(client, otto)

    page = client.get(f"/schedules/{primary.pk}/").content.decode()
    covered = client.post(f"/schedules/{primary.pk}/cover/", {**span(shift), "person": bob.pk})
    asked = client.post(f"/schedules/{primary.pk}/ask/", span(shift))

    assert "/cover/" not in page and "/ask/" not in page
    assert covered.status_code == 403 and asked.status_code == 403
    assert "You may not ask for cover in Payments primary" in text(asked)
    assert not Override.objects.exists() and not CoverRequest.objects.exists()


def test_covering_all_of_a_teammates_shift_shows_me_and_tells_them(
    client, twilio, rita, bob, primary
):
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))
    client = signed_in(client, rita)

    form = client.get(
        f"/schedules/{primary.pk}/cover/",
        {"person": bob.pk, "start": shift.start.isoformat(), "end": shift.end.isoformat()},
    )
    before = client.get(f"/schedules/{primary.pk}/")
    response = client.post(f"/schedules/{primary.pk}/cover/", {**span(shift), "person": bob.pk})
    handoff_notices()

    assert bobs_bar(shift) in final_row(before)
    assert "Start (Europe/Berlin)" in text(form) and f'value="{local(shift.start)}"' in (
        form.content.decode()
    )
    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.user, override.replaces) == (rita, bob)
    assert (override.start, override.end) == (shift.start, shift.end)
    picture = client.get(response["Location"])
    assert "You cover Bob Brown's shift in Payments primary." in text(picture)
    assert bobs_bar(shift) not in final_row(picture)
    assert [m.to for m in twilio.messages] == [PHONES["bob"]]
    assert twilio.messages[0].body.startswith("Rita Reyes covers your Payments primary shift")


def test_covering_part_of_a_shift_reads_the_times_in_the_schedules_zone(
    client, twilio, rita, bob, primary
):
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))
    start = shift.start + dt.timedelta(hours=2)
    end = start + dt.timedelta(hours=2)

    response = signed_in(client, rita).post(
        f"/schedules/{primary.pk}/cover/",
        {"start": local(start), "end": local(end), "person": bob.pk},
    )
    handoff_notices()

    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.start, override.end) == (start, end)
    drawn = f"Rita Reyes (override): {local_label(start, BERLIN)} to {local_label(end, BERLIN)}"
    assert drawn in final_row(client.get(f"/schedules/{primary.pk}/"))
    assert len(twilio.messages) == 1


def test_a_bad_span_gets_words_and_stores_nothing(client, rita, bob, primary):
    response = signed_in(client, rita).post(
        f"/schedules/{primary.pk}/cover/",
        {"start": "2026-12-08T17:00", "end": "2026-12-08T09:00", "person": bob.pk},
    )
    nonsense = client.post(f"/schedules/{primary.pk}/cover/", {"start": "soon", "end": ""})

    assert response.status_code == 400
    assert "The end must be after the start." in text(response)
    assert nonsense.status_code == 400 and "Enter a valid date/time." in text(nonsense)
    assert not Override.objects.exists()


def test_asking_for_cover_then_a_teammate_accepts_and_both_are_told(
    client, twilio, rita_phone, bob, primary
):
    rita = rita_phone
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))
    asked = ask(signed_in(client, bob), primary, shift)
    assert (asked.start, asked.end, asked.status) == (shift.start, shift.end, "open")
    bobs = text(client.get("/schedules/"))
    assert "Asked for cover" in bobs  # Bob's own, with Cancel
    assert "You asked for cover." in bobs  # next to the shift it is for, in place of Ask

    client = signed_in(client, rita)
    now_page = text(client.get("/"))
    listed = client.get("/schedules/")
    response = client.post(f"/schedules/requests/{asked.pk}/accept/", {"next": "/schedules/"})
    handoff_notices()

    assert "1 open request in your teams." in now_page
    assert f"/schedules/requests/{asked.pk}/accept/" in listed.content.decode()
    assert "Bob Brown asks cover for Payments primary" in text(listed)
    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.user, override.replaces, override.start, override.end) == (
        rita,
        bob,
        shift.start,
        shift.end,
    )
    asked.refresh_from_db()
    assert (asked.status, asked.taken_by, asked.override) == ("taken", rita, override)
    told = {m.to: m.body for m in twilio.messages}
    assert told[PHONES["bob"]].startswith("Rita Reyes covers your Payments primary shift")
    assert told[PHONES["rita"]].startswith("You cover Bob Brown's Payments primary shift")
    assert "You cover Bob Brown's shift in Payments primary" in text(client.get("/schedules/"))


def test_a_second_acceptance_is_refused_in_words(client, rita, bob, carl, primary):
    asked = ask(signed_in(client, bob), primary, shift_of(primary, bob, after=dt.timedelta(1)))
    swaps.cover_request_accept(actor=carl, request=asked)

    with pytest.raises(CoverRefused, match="Carl Cole has already taken it"):
        swaps.cover_request_accept(actor=rita, request=asked)
    response = signed_in(client, rita).post(f"/schedules/requests/{asked.pk}/accept/")

    assert response.status_code == 404  # no longer shown to take
    assert Override.objects.get().user == carl


@pytest.mark.django_db(transaction=True)
def test_two_acceptances_at_once_exactly_one_wins(payments_team, rita, bob, carl, primary):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite locks the whole database)")
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))
    asked = swaps.cover_request_open(actor=bob, schedule=primary, start=shift.start, end=shift.end)
    barrier = threading.Barrier(2)
    outcomes = []

    def accept(person):
        try:
            barrier.wait()
            swaps.cover_request_accept(actor=person, request=CoverRequest.objects.get(pk=asked.pk))
            outcomes.append(("won", person.username))
        except CoverRefused as error:
            outcomes.append(("refused", str(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(p,)) for p in (rita, carl)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(kind for kind, _ in outcomes) == ["refused", "won"]
    winner = next(who for kind, who in outcomes if kind == "won")
    assert [o.user.username for o in Override.objects.all()] == [winner]
    assert CoverRequest.objects.get().taken_by.username == winner


def test_declining_hides_it_from_me_and_keeps_it_open_for_others(client, rita, bob, carl, primary):
    asked = ask(signed_in(client, bob), primary, shift_of(primary, bob, after=dt.timedelta(1)))

    response = signed_in(client, rita).post(f"/schedules/requests/{asked.pk}/decline/")

    assert response.status_code == 302
    assert "Bob Brown asks cover" not in text(client.get("/schedules/"))
    assert "Bob Brown asks cover" in text(signed_in(client, carl).get("/schedules/"))
    asked.refresh_from_db()
    assert asked.status == "open"


def test_the_requester_cancels_and_nobody_may_take_it(client, rita, bob, primary):
    asked = ask(signed_in(client, bob), primary, shift_of(primary, bob, after=dt.timedelta(1)))

    by_rita = signed_in(client, rita).post(f"/schedules/requests/{asked.pk}/cancel/")
    by_bob = signed_in(client, bob).post(f"/schedules/requests/{asked.pk}/cancel/")
    accepted = signed_in(client, rita).post(f"/schedules/requests/{asked.pk}/accept/")

    assert by_rita.status_code == 404  # not hers to cancel
    assert by_bob.status_code == 302
    asked.refresh_from_db()
    assert asked.status == "cancelled"
    assert accepted.status_code == 404 and not Override.objects.exists()


def test_asking_for_a_span_without_my_shift_gets_words(client, rita, bob, primary):
    shift = shift_of(primary, bob, after=dt.timedelta(hours=1))

    response = signed_in(client, rita).post(f"/schedules/{primary.pk}/ask/", span(shift))

    assert response.status_code == 400
    assert "You have no shift in that span to ask cover for." in text(response)
    assert not CoverRequest.objects.exists()


def test_a_request_open_a_day_before_is_shown_to_managers_and_they_are_told_once(
    client, twilio, rita, bob, maria, primary
):
    soon = shift_of(primary, bob, after=dt.timedelta(hours=1))
    later = shift_of(primary, bob, after=dt.timedelta(days=2))
    ask(signed_in(client, bob), primary, soon)
    swaps.cover_request_open(actor=bob, schedule=primary, start=later.start, end=later.end)

    handoff_notices()
    handoff_notices()
    client = signed_in(client, maria)
    schedules_page = text(client.get("/schedules/"))
    now_page = text(client.get("/"))

    assert [m.to for m in twilio.messages] == [PHONES["maria"]]
    assert twilio.messages[0].body.startswith("Nobody has taken Bob Brown's Payments primary shift")
    assert schedules_page.count("Nobody has taken this.") == 1
    assert "Nobody has taken 1 request starting within a day." in now_page
    notice = HandoffNotice.objects.get()
    assert (notice.kind, notice.user) == ("untaken", maria)


def test_requests_whose_start_passed_expire(client, rita, bob, primary):
    asked = ask(signed_in(client, bob), primary, shift_of(primary, bob, after=dt.timedelta(1)))

    handoffs_send_due(asked.start + dt.timedelta(minutes=1))

    asked.refresh_from_db()
    assert asked.status == "expired"
    with pytest.raises(CoverRefused, match="it was expired"):
        swaps.cover_request_accept(actor=rita, request=asked)


def test_schedules_takes_the_same_number_of_queries_for_1_and_10_schedules(
    client, payments_team, rita, bob
):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/schedules/").status_code == 200
        return len(queries)

    client = signed_in(client, rita)
    rotation(payments_team, "Schedule 0", bob, rita)
    one = count()
    for n in range(1, 10):
        rotation(payments_team, f"Schedule {n}", bob, rita)
    ten = count()

    assert ten == one
