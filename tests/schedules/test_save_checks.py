"""Saving a schedule or policy that cannot page anyone is refused or warned, in words."""

import pytest
from django.core.management import CommandError
from django.urls import reverse

from accounts.models import default_team_id
from escalation.models import EscalationPolicy
from schedules.models import Layer, LayerMember, Schedule
from tests.config.test_config_apply import EXAMPLE, apply
from tests.conftest import client_for
from tests.factories import ContactMethodFactory, UserFactory

pytestmark = pytest.mark.django_db

CONSTRAINT_WORDS = ("layer_shift_ge1", "Constraint")


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def schedule(db):
    return Schedule.objects.create(name="Primary", time_zone="Europe/Berlin")


def inline(prefix: str, rows: list[dict]) -> dict:
    """Return the POST data of an admin inline formset holding `rows`."""
    data = {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": 0}
    for n, row in enumerate(rows):
        data |= {f"{prefix}-{n}-{key}": value for key, value in row.items()}
    return data


def layer_form(schedule, people: list, shift_count: int = 1) -> dict:
    return {
        "schedule": schedule.pk,
        "name": "Weekdays",
        "level": 1,
        "kind": "rotation",
        "shift_count": shift_count,
        "shift_unit": "weeks",
        "handoff_date": "2026-11-30",
        "handoff_time": "09:00",
        **inline("members", [{"user": p.pk, "position": n} for n, p in enumerate(people)]),
        **inline("restrictions", []),
    }


def page_text(response) -> str:
    return response.content.decode()


def test_layer_page_refuses_zero_shifts_in_words(admin_client, schedule, alice):
    response = admin_client.post(
        reverse("admin:schedules_layer_add"), layer_form(schedule, [alice], shift_count=0)
    )

    assert response.status_code == 200
    assert "A shift lasts at least 1 hour, day or week." in page_text(response)
    assert not any(word in page_text(response) for word in CONSTRAINT_WORDS)
    assert not Layer.objects.exists()


def test_schedule_page_refuses_a_new_layer_of_zero_shifts_in_words(admin_client, schedule):
    row = {"name": "Nights", "level": 1, "kind": "rotation", "shift_count": 0}
    row |= {"shift_unit": "weeks", "handoff_date": "2026-11-30", "handoff_time": "09:00"}
    data = {"name": "Primary", "team": default_team_id(), "time_zone": "Europe/Berlin"}
    data |= inline("layers", [row]) | inline("overrides", [])

    response = admin_client.post(
        reverse("admin:schedules_schedule_change", args=[schedule.pk]), data
    )

    assert response.status_code == 200
    assert "A shift lasts at least 1 hour, day or week." in page_text(response)
    assert not any(word in page_text(response) for word in CONSTRAINT_WORDS)


def test_layer_page_refuses_a_rotation_without_people(admin_client, schedule):
    response = admin_client.post(reverse("admin:schedules_layer_add"), layer_form(schedule, []))

    assert response.status_code == 200
    assert "A rotation needs at least one person: add participants." in page_text(response)
    assert not Layer.objects.exists()


def test_layer_page_saves_a_rotation_with_people(admin_client, schedule, alice, bob):
    response = admin_client.post(
        reverse("admin:schedules_layer_add"), layer_form(schedule, [bob, alice])
    )

    assert response.status_code == 302
    assert [m.user for m in LayerMember.objects.all()] == [bob, alice]


def test_schedule_page_warns_about_a_rotation_added_without_people(admin_client, schedule):
    row = {"name": "Nights", "level": 1, "kind": "rotation", "shift_count": 1}
    row |= {"shift_unit": "weeks", "handoff_date": "2026-11-30", "handoff_time": "09:00"}
    data = {"name": "Primary", "team": default_team_id(), "time_zone": "Europe/Berlin"}
    data |= inline("layers", [row]) | inline("overrides", [])

    response = admin_client.post(
        reverse("admin:schedules_schedule_change", args=[schedule.pk]), data, follow=True
    )

    assert "Rotation “Nights” pages nobody yet: add people on its page." in page_text(response)


def test_api_refuses_a_rotation_without_people_in_words():
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    layer = {"name": "d", "participants": [], "shift_count": 1, "handoff_date": "2026-01-05"}

    response = client_for(staff).post(
        "/api/v1/schedules/", {"name": "Empty", "layers": [layer]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["layers"]["0"]["participants"] == [
        "A rotation needs at least one person: add participants."
    ]
    assert not Schedule.objects.exists()


def test_config_refuses_a_rotation_without_people_naming_its_place(tmp_path):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, EXAMPLE.replace("participants: [alice, bob]", "participants: []"))

    assert "schedules[0].layers[0].participants: A rotation needs at least one person" in str(
        raised.value
    )


# --- Policies ----------------------------------------------------------------------------------


def policy_form(name: str, levels: list[dict]) -> dict:
    data = {"name": name, "team": default_team_id(), "description": "", "repeat": "0"}
    rows = [
        {"position": n, "ack_timeout": "5m", **level} for n, level in enumerate(levels, start=1)
    ]
    data |= inline("tiers", rows)
    return data


@pytest.fixture
def carol(db):
    """Carol has a phone number nobody verified: she cannot be paged."""
    user = UserFactory(username="carol", first_name="Carol", last_name="Cole")
    ContactMethodFactory(user=user, address="+15550100003", verified=False)
    return user


def test_policy_warns_about_a_level_whose_people_have_no_verified_contact_method(
    admin_client, alice, carol
):
    levels = [{"users": [alice.pk]}, {"users": [carol.pk]}]

    response = admin_client.post(
        reverse("admin:escalation_escalationpolicy_add"), policy_form("Ops", levels), follow=True
    )

    assert EscalationPolicy.objects.filter(name="Ops").exists()
    text = page_text(response)
    assert "Level 2 pages nobody: Carol Cole has no verified contact method." in text
    assert "Level 1 pages nobody" not in text
    assert "This policy pages nobody" not in text


def test_policy_whose_levels_page_nobody_at_all_is_warned(admin_client, carol, schedule):
    levels = [{"users": [carol.pk]}, {"schedules": [schedule.pk]}]

    response = admin_client.post(
        reverse("admin:escalation_escalationpolicy_add"), policy_form("Void", levels), follow=True
    )

    text = page_text(response)
    assert "Level 2 pages nobody: schedule Primary has nobody in its layers." in text
    assert "This policy pages nobody at all: no level reaches a verified contact method." in text


def test_policy_paging_a_schedule_with_reachable_people_is_not_warned(
    admin_client, schedule, alice
):
    layer = Layer.objects.create(schedule=schedule, handoff_date="2026-11-30")
    LayerMember.objects.create(layer=layer, user=alice)

    response = admin_client.post(
        reverse("admin:escalation_escalationpolicy_add"),
        policy_form("Fine", [{"schedules": [schedule.pk]}]),
        follow=True,
    )

    assert "pages nobody" not in page_text(response)
