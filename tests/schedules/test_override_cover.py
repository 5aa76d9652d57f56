"""Overrides by role: responders cover their own shifts, managers anyone's; the replaced hear.

Bob's daily Payments shift runs 09:00 to 09:00 Berlin time from Tuesday 8 December 2026.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Role, Team
from paging.models import HandoffNotice, span_words
from paging.tasks import handoff_notices
from schedules.models import Layer, LayerMember, Override, Schedule
from schedules.resolver import LayerData, OverrideData, ScheduleData, replaced
from tests.conftest import client_for
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db
BOB_PHONE = "+15550100002"
BERLIN = ZoneInfo("Europe/Berlin")
NINE = dt.datetime(2026, 12, 8, 9, 0, tzinfo=BERLIN)
FIVE = dt.datetime(2026, 12, 8, 17, 0, tzinfo=BERLIN)
BEFORE = dt.datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN)  # the day before Bob's shift


@pytest.fixture
def team(db):
    return Team.objects.create(name="Payments team", slug="payments")


@pytest.fixture
def rota(team, alice, bob):
    """Bob on call from Tue 8 Dec 09:00 Berlin for a day, then Alice."""
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin", team=team)
    layer = Layer.objects.create(
        schedule=schedule, shift_unit="days", handoff_date=dt.date(2026, 12, 8)
    )
    LayerMember.objects.create(layer=layer, user=bob, position=0)
    LayerMember.objects.create(layer=layer, user=alice, position=1)
    for person in (alice, bob):
        Membership.objects.create(team=team, user=person, role=Role.RESPONDER)
    return schedule


def member(team, username: str, role: str):
    person = UserFactory(username=username)
    Membership.objects.create(team=team, user=person, role=role)
    return person


@pytest.fixture
def manager(team):
    return member(team, "maria", Role.MANAGER)


def persona(name: str, team):
    """Return the person `name` stands for (None for anonymous)."""
    if name == "anonymous":
        return None
    if name == "site admin":
        return UserFactory(username="root", is_superuser=True)
    if name == "manager of another team":
        other = Team.objects.create(name="Search", slug="search")
        return member(other, "olga", Role.MANAGER)
    role = {"observer": Role.OBSERVER, "manager": Role.MANAGER}[name]
    return member(team, name.replace(" ", "-"), role)


def body(schedule, user, start=NINE, end=FIVE, **more) -> dict:
    return {
        "schedule": schedule.pk,
        "user": user.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
        **more,
    }


def api(user) -> APIClient:
    return APIClient() if user is None else client_for(user)


def test_a_responder_covers_their_own_shift_and_the_replaced_person_gets_an_sms(
    twilio, rota, alice, bob
):
    bob.time_zone = "Europe/London"  # told in their own zone, named
    bob.save()

    response = api(alice).post("/api/v1/overrides/", body(rota, alice), format="json")
    handoff_notices()

    assert response.status_code == 201
    assert [(m.to, m.body) for m in twilio.messages] == [
        (BOB_PHONE, "Alice Adams covers your Payments shift Tue 8 Dec 08:00-16:00 GMT")
    ]
    assert HandoffNotice.objects.get().status == "sent"


def test_the_replaced_person_is_told_by_email_in_their_zone(twilio, mailoutbox, rota, alice, bob):
    bob.time_zone = "Europe/Paris"
    bob.save()
    ContactMethodFactory(user=bob, kind="email", name="work", address="bob@example.com")

    api(alice).post("/api/v1/overrides/", body(rota, alice), format="json")
    handoff_notices()
    handoff_notices()  # a second run sends nothing again

    assert [(m.to, m.subject, m.body) for m in mailoutbox] == [
        (
            ["bob@example.com"],
            "Alice Adams covers your Payments shift",
            "Alice Adams covers your Payments shift Tue 8 Dec 09:00\u201317:00 CET",
        )
    ]
    assert len(twilio.messages) == 1


@pytest.mark.parametrize(
    ("who", "for_self", "status"),
    [
        ("anonymous", False, {401, 403}),
        ("observer", True, {403}),
        ("manager", False, {201}),
        ("manager of another team", False, {403}),
        ("site admin", False, {201}),
    ],
)
def test_who_may_put_whom_on_call(twilio, rota, team, alice, who, for_self, status):
    actor = persona(who, team)
    covering = actor if for_self else alice

    response = api(actor).post("/api/v1/overrides/", body(rota, covering), format="json")

    assert response.status_code in status
    assert Override.objects.exists() == (response.status_code == 201)


def test_a_responder_may_not_put_someone_else_on_call(twilio, rota, alice, bob):
    response = api(alice).post("/api/v1/overrides/", body(rota, bob), format="json")
    handoff_notices()

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "You may not put Bob Brown on call in Payments: only managers of Payments team cover "
        "for others."
    )
    assert not Override.objects.exists()
    assert twilio.messages == []


def test_someone_outside_the_team_may_not_take_its_shifts(rota):
    stranger = UserFactory(username="sam")

    response = api(stranger).post("/api/v1/overrides/", body(rota, stranger), format="json")

    assert response.status_code == 403
    assert "you are not a responder of Payments team" in response.json()["detail"]
    assert not Override.objects.exists()


def test_a_manager_covering_for_someone_tells_the_one_replaced_not_themselves(
    twilio, rota, manager, alice, bob
):
    response = api(manager).post(
        "/api/v1/overrides/", body(rota, alice, replaces=bob.pk), format="json"
    )
    handoff_notices()

    assert response.status_code == 201
    assert [m.to for m in twilio.messages] == [BOB_PHONE]

    twilio.reset()
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    later = body(rota, alice, start=NINE + dt.timedelta(hours=9), end=NINE + dt.timedelta(hours=12))
    api(bob).post("/api/v1/overrides/", later, format="json")  # Bob hands his own night away
    handoff_notices()

    assert twilio.messages == []


def test_changing_an_override_to_someone_else_is_refused_and_changes_nothing(rota, alice, bob):
    taken = api(alice).post("/api/v1/overrides/", body(rota, alice), format="json").json()

    response = api(alice).patch(
        f"/api/v1/overrides/{taken['id']}/", {"user": bob.pk}, format="json"
    )

    assert response.status_code == 403
    assert Override.objects.get().user == alice


def test_bad_times_are_400_naming_the_field_and_store_nothing(rota, alice):
    response = api(alice).post(
        "/api/v1/overrides/", body(rota, alice, start=FIVE, end=NINE), format="json"
    )

    assert response.status_code == 400
    assert "end" in response.json()
    assert not Override.objects.exists()


def test_the_holder_and_managers_remove_an_override_others_may_not(rota, team, manager, alice):
    def take():
        return Override.objects.create(schedule=rota, user=alice, start=NINE, end=FIVE)

    carol = member(team, "carol", Role.RESPONDER)
    first = take()
    refused = api(carol).delete(f"/api/v1/overrides/{first.pk}/")
    assert refused.status_code == 403
    assert "only they and managers of Payments team may" in refused.json()["detail"]
    assert api(manager).delete(f"/api/v1/overrides/{first.pk}/").status_code == 204

    second = take()
    Membership.objects.filter(user=alice).delete()  # she left the team: she may still step down
    assert api(alice).delete(f"/api/v1/overrides/{second.pk}/").status_code == 204
    assert not Override.objects.exists()


def test_admin_refuses_a_responder_covering_for_someone_else_in_words(client, rota, bob):
    staff = member(rota.team, "rita", Role.RESPONDER)
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(
        staff.user_permissions.model.objects.filter(content_type__app_label="schedules")
    )
    client.force_login(staff)
    local = NINE.astimezone(BERLIN)
    form = {
        "schedule": rota.pk,
        "user": bob.pk,
        "start_0": f"{local:%Y-%m-%d}",
        "start_1": "09:00",
        "end_0": f"{local:%Y-%m-%d}",
        "end_1": "17:00",
    }

    refused = client.post(reverse("admin:schedules_override_add"), form)
    taken = client.post(reverse("admin:schedules_override_add"), form | {"user": staff.pk})

    assert refused.status_code == 200
    assert "You may not put Bob Brown on call in Payments" in refused.content.decode()
    assert taken.status_code == 302
    assert Override.objects.get().user == staff


def test_admin_override_of_a_manager_notices_the_replaced(client, twilio, rota, manager, alice):
    manager.is_staff = True
    manager.save()
    manager.user_permissions.set(
        manager.user_permissions.model.objects.filter(content_type__app_label="schedules")
    )
    client.force_login(manager)
    form = {
        "schedule": rota.pk,
        "user": alice.pk,
        "start_0": "2026-12-08",
        "start_1": "09:00",
        "end_0": "2026-12-08",
        "end_1": "17:00",
    }

    response = client.post(reverse("admin:schedules_override_add"), form)
    handoff_notices()

    assert response.status_code == 302
    assert [(m.to, m.body) for m in twilio.messages] == [
        (BOB_PHONE, "Alice Adams covers your Payments shift Tue 8 Dec 08:00-16:00 UTC")
    ]


def test_span_words_cross_midnight_and_summer_time():
    berlin = ZoneInfo("Europe/Berlin")
    spring = dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)  # midnight in Berlin, winter time

    overnight = span_words(NINE + dt.timedelta(hours=9), NINE + dt.timedelta(days=1), berlin)
    clocks = span_words(spring, spring + dt.timedelta(hours=4), berlin)

    assert overnight == "Tue 8 Dec 18:00 \u2013 Wed 9 Dec 09:00 CET"
    assert clocks == "Sun 29 Mar 00:00 CET \u2013 05:00 CEST"


def test_replaced_names_only_who_loses_time_and_the_span_they_lose():
    layer = LayerData(
        level=1,
        rotation=(1, 2),
        shift_count=1,
        shift_unit="days",
        handoff=dt.datetime(2026, 12, 8, 9, 0),
    )
    before = ScheduleData(time_zone="Europe/Berlin", layers=(layer,))
    start, end = NINE + dt.timedelta(hours=20), NINE + dt.timedelta(hours=30)
    after = ScheduleData(
        time_zone="Europe/Berlin", layers=(layer,), overrides=(OverrideData(3, start, end),)
    )

    lost = replaced(before, after, start, end)

    assert lost == {1: (start, NINE + dt.timedelta(days=1)), 2: (NINE + dt.timedelta(days=1), end)}


def test_a_responder_may_not_change_someone_elses_override(rota, team, alice):
    carol = member(team, "carol", Role.RESPONDER)
    taken = Override.objects.create(schedule=rota, user=alice, start=NINE, end=FIVE)

    response = api(carol).patch(
        f"/api/v1/overrides/{taken.pk}/", {"end": "2026-12-08T20:00:00+01:00"}, format="json"
    )

    assert response.status_code == 403
    assert "You may not put Alice Adams on call in Payments" in response.json()["detail"]
    taken.refresh_from_db()
    assert taken.end == FIVE


@pytest.fixture
def alices_cover(rota, alice):
    """Alice covers Bob's Tuesday 09:00-17:00."""
    return Override.objects.create(schedule=rota, user=alice, start=NINE, end=FIVE)


def test_removing_an_override_tells_who_is_back_on_call_not_the_actor(
    twilio, mailoutbox, alices_cover, alice, bob
):
    bob.time_zone = "Europe/Paris"  # told in their own zone, named
    bob.save()
    ContactMethodFactory(user=bob, kind="email", name="work", address="bob@example.com")

    with time_machine.travel(BEFORE, tick=False):
        response = api(alice).delete(f"/api/v1/overrides/{alices_cover.pk}/")
        handoff_notices()
        handoff_notices()  # a second run sends nothing again

    assert response.status_code == 204
    text = (
        "You are on call again for Payments Tue 8 Dec 09:00\u201317:00 CET: "
        "Alice Adams's cover was removed"
    )
    assert [(m.to, m.body) for m in twilio.messages] == [(BOB_PHONE, text.replace("\u2013", "-"))]
    assert [(m.to, m.subject, m.body) for m in mailoutbox] == [
        (["bob@example.com"], "You are on call again for Payments", text)
    ]
    assert HandoffNotice.objects.get().kind == "restored"


def test_removing_an_override_tells_nobody_when_the_actor_is_the_one_back_on_call(
    twilio, alices_cover, bob
):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)

    with time_machine.travel(BEFORE, tick=False):
        response = api(bob).delete(f"/api/v1/overrides/{alices_cover.pk}/")
        handoff_notices()

    assert response.status_code == 204
    assert twilio.messages == []
    assert not HandoffNotice.objects.exists()


def test_removing_an_override_whose_span_is_over_tells_nobody(twilio, rota, alice):
    with time_machine.travel(FIVE + dt.timedelta(hours=1), tick=False):
        over = Override.objects.create(schedule=rota, user=alice, start=NINE, end=FIVE)

        response = api(alice).delete(f"/api/v1/overrides/{over.pk}/")
        handoff_notices()

    assert response.status_code == 204
    assert twilio.messages == []
    assert not HandoffNotice.objects.exists()


def test_removing_an_override_under_way_tells_only_of_the_part_to_come(twilio, rota, alice, bob):
    bob.time_zone = "Europe/Berlin"
    bob.save()
    with time_machine.travel(NINE + dt.timedelta(hours=3), tick=False):
        under_way = Override.objects.create(schedule=rota, user=alice, start=NINE, end=FIVE)

        api(alice).delete(f"/api/v1/overrides/{under_way.pk}/")
        handoff_notices()

    assert [m.body for m in twilio.messages] == [
        "You are on call again for Payments Tue 8 Dec 12:00-17:00 CET: "
        "Alice Adams's cover was removed"
    ]


def test_an_override_changed_to_cover_less_tells_who_gets_the_part_back(
    twilio, alices_cover, alice, bob
):
    bob.time_zone = "Europe/London"
    bob.save()
    shorter = {"end": (NINE + dt.timedelta(hours=4)).isoformat()}

    with time_machine.travel(BEFORE, tick=False):
        response = api(alice).patch(f"/api/v1/overrides/{alices_cover.pk}/", shorter, format="json")
        handoff_notices()

    assert response.status_code == 200
    assert [(m.to, m.body) for m in twilio.messages] == [
        (
            BOB_PHONE,
            "You are on call again for Payments Tue 8 Dec 12:00-16:00 GMT: "
            "Alice Adams's cover was removed",
        )
    ]


def test_an_override_changed_to_cover_more_tells_nobody_they_are_back(twilio, alices_cover, alice):
    longer = {"end": (FIVE + dt.timedelta(hours=1)).isoformat()}

    with time_machine.travel(BEFORE, tick=False):
        api(alice).patch(f"/api/v1/overrides/{alices_cover.pk}/", longer, format="json")
        handoff_notices()

    assert [m.body for m in twilio.messages] == [
        "Alice Adams covers your Payments shift Tue 8 Dec 16:00-17:00 UTC"
    ]
    assert HandoffNotice.objects.get().kind == "override"


def test_admin_deleting_an_override_tells_who_is_back_on_call(
    client, twilio, alices_cover, manager, bob
):
    manager.is_staff = True
    manager.save()
    manager.user_permissions.set(
        manager.user_permissions.model.objects.filter(content_type__app_label="schedules")
    )
    client.force_login(manager)
    url = reverse("admin:schedules_override_delete", args=[alices_cover.pk])

    with time_machine.travel(BEFORE, tick=False):
        response = client.post(url, {"post": "yes"})
        handoff_notices()

    assert response.status_code == 302
    assert not Override.objects.exists()
    assert [(m.to, m.body) for m in twilio.messages] == [
        (
            BOB_PHONE,
            "You are on call again for Payments Tue 8 Dec 08:00-16:00 UTC: "
            "Alice Adams's cover was removed",
        )
    ]
