"""The configuration API: every object through /api/v1/, who may change what, errors, queries."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiToken
from escalation.models import EscalationPolicy
from paging.models import ContactMethod, Integration, MaintenanceWindow, NotificationRule, Service
from schedules.models import CalendarFeed, Layer, LayerMember, Override, Schedule
from tests.conftest import client_for
from tests.factories import (
    ContactMethodFactory,
    IntegrationFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
    join,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def staff(root):
    return client_for(root)


@pytest.fixture
def responder(alice):
    return client_for(join(alice, "responder"))


def test_staff_builds_a_whole_configuration_through_the_api(staff, alice, bob, settings):
    settings.PUBLIC_URL = "https://oncall.example.com"
    schedule = staff.post(
        "/api/v1/schedules/",
        {
            "name": "Primary",
            "time_zone": "Europe/Berlin",
            "layers": [
                {
                    "name": "days",
                    "shift_count": 1,
                    "shift_unit": "days",
                    "handoff_date": "2026-01-05",
                    "participants": [bob.pk, alice.pk, bob.pk],
                    "restrictions": [{"kind": "daily", "start_time": "09:00", "end_time": "17:00"}],
                }
            ],
        },
        format="json",
    )
    assert schedule.status_code == 201, schedule.json()
    sid = schedule.json()["id"]
    policy = staff.post(
        "/api/v1/escalation-policies/",
        {
            "name": "default",
            "repeat": 1,
            "tiers": [
                {"ack_timeout": "00:05:00", "schedules": [sid]},
                {"ack_timeout": "00:10:00", "users": [bob.pk]},
            ],
        },
        format="json",
    )
    assert policy.status_code == 201, policy.json()
    service = staff.post(
        "/api/v1/services/",
        {"name": "payments", "escalation_policy": policy.json()["id"], "ack_timeout": "00:30:00"},
        format="json",
    )
    assert service.status_code == 201, service.json()
    hook = staff.post(
        "/api/v1/integrations/",
        {"name": "prometheus", "kind": "alertmanager", "service": service.json()["id"]},
        format="json",
    )

    assert hook.status_code == 201, hook.json()
    key = Integration.objects.get().key
    assert hook.json()["url"] == f"https://oncall.example.com/integrations/{key}/"
    layer = staff.get(f"/api/v1/schedules/{sid}/").json()["layers"][0]
    assert layer["participants"] == [bob.pk, alice.pk, bob.pk]
    assert layer["restrictions"][0]["start_time"] == "09:00:00"
    on_call = staff.get(f"/api/v1/schedules/{sid}/oncall/?at=2026-01-06T10:00:00Z").json()
    assert [p["username"] for p in on_call] == ["alice"]  # second day: second participant
    assert staff.get(f"/api/v1/schedules/{sid}/oncall/?at=2026-01-06T20:00:00Z").json() == []
    tiers = staff.get(f"/api/v1/escalation-policies/{policy.json()['id']}/").json()["tiers"]
    assert [(t["ack_timeout"], t["users"], t["schedules"]) for t in tiers] == [
        ("00:05:00", [], [sid]),
        ("00:10:00", [bob.pk], []),
    ]


def test_updating_layers_replaces_them_and_keeps_the_schedule(staff, alice, bob):
    schedule = Schedule.objects.create(name="Primary")
    layer = Layer.objects.create(schedule=schedule, handoff_date=dt.date(2026, 1, 5))
    LayerMember.objects.create(layer=layer, user=alice)

    response = staff.patch(
        f"/api/v1/schedules/{schedule.pk}/",
        {
            "layers": [
                {"name": "a", "handoff_date": "2026-01-05", "participants": [alice.pk]},
                {"name": "b", "handoff_date": "2026-01-05", "participants": [bob.pk]},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert [(la["name"], la["level"]) for la in response.json()["layers"]] == [("b", 2), ("a", 1)]
    assert Schedule.objects.get().pk == schedule.pk


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/schedules/", {"name": "x", "time_zone": "Mars/Olympus"}, "time_zone"),
        (
            "/api/v1/schedules/",
            {"name": "x", "layers": [{"kind": "rotation", "participants": []}]},
            "layers",
        ),
        ("/api/v1/escalation-policies/", {"name": "p", "tiers": [{"ack_timeout": "0"}]}, "tiers"),
        ("/api/v1/services/", {"name": "s", "storm_cap": -1}, "storm_cap"),
        ("/api/v1/services/", {"name": "s", "ack_timeout": "-00:05:00"}, "ack_timeout"),
        # Past a year: now + the duration would overflow and fail every alert on the service.
        ("/api/v1/services/", {"name": "s", "storm_window": "999999999 00:00:00"}, "storm_window"),
        (
            "/api/v1/services/",
            {"name": "s", "auto_resolve_after": "400 00:00:00"},
            "auto_resolve_after",
        ),
        (
            "/api/v1/escalation-policies/",
            {"name": "p", "tiers": [{"ack_timeout": "400 00:00:00"}]},
            "tiers",
        ),
        ("/api/v1/users/", {"username": "x", "time_zone": "Nowhere"}, "time_zone"),
        ("/api/v1/contact-methods/", {"kind": "fax", "address": "1"}, "kind"),
    ],
)
def test_bad_configuration_is_400_naming_the_field_and_stores_nothing(staff, url, body, field):
    before = [m.objects.count() for m in (Schedule, EscalationPolicy, Service, ContactMethod)]

    response = staff.post(url, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    after = [m.objects.count() for m in (Schedule, EscalationPolicy, Service, ContactMethod)]
    assert after == before


@pytest.mark.parametrize(
    ("kind", "address"), [("sms", "555 0100"), ("voice", "+1"), ("email", "alice")]
)
def test_contact_method_with_a_malformed_address_is_400(staff, alice, kind, address):
    body = {"user": alice.pk, "kind": kind, "address": address}

    response = staff.post("/api/v1/contact-methods/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["address"]
    assert not ContactMethod.objects.filter(address=address).exists()


def test_contact_method_without_a_name_gets_the_default_one(staff, alice):
    body = {"user": alice.pk, "kind": "sms", "address": "+15550109999"}

    response = staff.post("/api/v1/contact-methods/", body, format="json")

    assert response.status_code == 201
    assert response.json()["name"] == "mobile"


def test_calendar_layer_keeps_its_events_while_its_source_stays(staff, alice):
    bad = {"name": "oncall.ics", "kind": "ical_url", "calendar_url": "ftp://calendar.example/x"}
    good = bad | {"calendar_url": "https://calendar.example.com/feed.ics"}
    refused = staff.post("/api/v1/schedules/", {"name": "s", "layers": [bad]}, format="json")
    created = staff.post("/api/v1/schedules/", {"name": "s", "layers": [good]}, format="json")
    layer = Layer.objects.get()
    layer.imported_events.create(
        user=alice,
        start=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        end=dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC),
    )
    url = f"/api/v1/schedules/{created.json()['id']}/"

    renamed = staff.patch(url, {"layers": [good | {"name": "renamed"}]}, format="json")
    kept = Layer.objects.get().imported_events.count()
    moved = staff.patch(
        url, {"layers": [good | {"calendar_url": "https://x.example/2.ics"}]}, format="json"
    )

    assert refused.status_code == 400
    assert "calendar_url" in refused.json()["layers"]["0"]
    assert (created.status_code, renamed.status_code) == (201, 200)
    assert renamed.json()["layers"][0]["name"] == "renamed"
    assert Layer.objects.get().pk == layer.pk and kept == 1
    assert moved.status_code == 200, moved.json()
    assert Layer.objects.get().calendar_checked_at is None  # fetched afresh by the next refresh


def test_a_layer_needs_shifts_of_at_least_one_unit(staff, alice):
    layer = {"handoff_date": "2026-01-05", "participants": [alice.pk], "shift_count": 0}

    response = staff.post("/api/v1/schedules/", {"name": "x", "layers": [layer]}, format="json")

    assert response.status_code == 400
    assert response.json()["layers"]["0"]["shift_count"]
    assert not Schedule.objects.exists()


def test_a_body_that_is_not_an_object_is_400_not_a_crash(responder):
    assert responder.post("/api/v1/contact-methods/", [1], format="json").status_code == 400
    assert responder.post("/api/v1/overrides/", [1], format="json").status_code in (400, 403)


def test_model_rules_apply_as_in_admin(staff, payments):
    heartbeat = staff.post(
        "/api/v1/integrations/",
        {"name": "backup", "kind": "heartbeat", "service": payments.pk},
        format="json",
    )
    window = staff.post(
        "/api/v1/maintenance-windows/",
        {
            "service": payments.pk,
            "starts_at": "2026-12-24T10:00:00Z",
            "ends_at": "2026-12-24T09:00:00Z",
        },
        format="json",
    )

    assert heartbeat.status_code == 400
    assert "heartbeat_interval" in heartbeat.json()
    assert window.status_code == 400
    assert "ends_at" in window.json()
    assert not Integration.objects.exists() and not MaintenanceWindow.objects.exists()


def test_maintenance_window_shows_on_its_service_with_who_made_it(staff, payments, root):
    span = {"starts_at": "2026-12-24T10:00Z", "ends_at": "2026-12-24T12:00Z"}
    body = {"service": payments.pk, **span}

    created = staff.post("/api/v1/maintenance-windows/", body, format="json")

    assert created.status_code == 201
    assert created.json()["created_by"] == root.pk
    service = staff.get(f"/api/v1/services/{payments.pk}/").json()
    assert service["maintenance_windows"][0]["ends_at"] == "2026-12-24T12:00:00Z"


def test_deleting_a_policy_still_in_use_is_409(staff, payments):
    response = staff.delete(f"/api/v1/escalation-policies/{payments.escalation_policy_id}/")

    assert response.status_code == 409
    assert "services" in response.json()["detail"]


def test_deleting_a_person_or_schedule_a_level_pages_is_409_and_keeps_the_level(staff, alice, bob):
    schedule = Schedule.objects.create(name="Primary", time_zone="UTC")
    policy = PolicyFactory(levels=[[schedule], [bob]])

    refused = [
        staff.delete(f"/api/v1/schedules/{schedule.pk}/"),
        staff.delete(f"/api/v1/users/{bob.pk}/"),
    ]

    assert [r.status_code for r in refused] == [409, 409]
    assert all("escalation levels" in r.json()["detail"] for r in refused)
    first, second = policy.tiers.order_by("position")
    assert list(first.schedules.all()) == [schedule]
    assert list(second.users.all()) == [bob]
    assert staff.delete(f"/api/v1/users/{alice.pk}/").status_code == 204  # pages nowhere


def test_responder_reads_everything_but_changes_no_shared_configuration(responder, payments):
    for url in ["services", "escalation-policies", "schedules", "users", "maintenance-windows"]:
        assert responder.get(f"/api/v1/{url}/").status_code == 200
    refused = [
        responder.post("/api/v1/services/", {"name": "mine"}, format="json"),
        responder.patch(f"/api/v1/services/{payments.pk}/", {"name": "x"}, format="json"),
        responder.delete(f"/api/v1/escalation-policies/{payments.escalation_policy_id}/"),
        responder.post("/api/v1/users/", {"username": "eve"}, format="json"),
        responder.post("/api/v1/schedules/", {"name": "s"}, format="json"),
    ]

    assert [r.status_code for r in refused] == [403] * 5
    assert Service.objects.get().name == "payments"


def test_responder_manages_own_contact_methods_and_rules_only(responder, alice, bob):
    created = responder.post(
        "/api/v1/contact-methods/",
        {"user": alice.pk, "name": "mail", "kind": "email", "address": "a@example.com"},
        format="json",
    )
    rule = responder.post(
        "/api/v1/notification-rules/",
        {"user": alice.pk, "contact_method": created.json()["id"], "delay": "00:02:00"},
        format="json",
    )
    bobs = ContactMethod.objects.get(user=bob)
    others = [
        responder.post(
            "/api/v1/contact-methods/",
            {"user": bob.pk, "kind": "sms", "address": "+15550109999"},
            format="json",
        ),
        responder.patch(f"/api/v1/contact-methods/{bobs.pk}/", {"address": "+1555"}, format="json"),
        responder.delete(f"/api/v1/contact-methods/{bobs.pk}/"),
    ]
    handover = responder.patch(
        f"/api/v1/contact-methods/{created.json()['id']}/", {"user": bob.pk}, format="json"
    )

    assert (created.status_code, rule.status_code) == (201, 201)
    # A new row for Bob names the field; Bob's rows are not even there for Alice.
    assert [r.status_code for r in others] == [400, 404, 404]
    assert handover.status_code == 400
    assert ContactMethod.objects.get(pk=bobs.pk).address == "+15550100002"
    me = responder.get(f"/api/v1/users/{alice.pk}/").json()
    assert [m["name"] for m in me["contact_methods"] if m["kind"] == "email"] == ["mail"]
    assert me["notification_rules"] == [
        {"id": rule.json()["id"], "contact_method": created.json()["id"], "delay": "00:02:00"}
    ]


def test_rule_must_use_the_persons_own_contact_method(staff, alice, bob):
    response = staff.post(
        "/api/v1/notification-rules/",
        {"user": alice.pk, "contact_method": ContactMethod.objects.get(user=bob).pk},
        format="json",
    )

    assert response.status_code == 400
    assert "contact_method" in response.json()


def test_lists_filter_by_query_parameters(staff, alice, bob):
    response = staff.get(f"/api/v1/contact-methods/?user={bob.pk}").json()
    bad = staff.get("/api/v1/contact-methods/?user=bob")

    assert [m["address"] for m in response["results"]] == ["+15550100002"]
    assert bad.status_code == 400
    assert "user" in bad.json()


@pytest.mark.parametrize(
    "url",
    [
        "services",
        "maintenance-windows",
        "integrations",
        "escalation-policies",
        "schedules",
        "overrides",
        "calendar-feeds",
        "users",
        "contact-methods",
        "notification-rules",
        "api-tokens",
    ],
)
def test_no_token_is_401(url):
    assert APIClient().get(f"/api/v1/{url}/").status_code == 401
    assert APIClient().post(f"/api/v1/{url}/", {}).status_code == 401


def test_api_token_is_shown_once_works_and_is_revoked(responder, alice):
    created = responder.post("/api/v1/api-tokens/", {"name": "ci"}, format="json")
    raw = created.json()["token"]
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert created.status_code == 201
    assert fresh.get("/api/v1/services/").status_code == 200
    listed = responder.get("/api/v1/api-tokens/").json()["results"]
    assert all("token" not in t for t in listed)
    assert not ApiToken.objects.filter(digest__contains=raw).exists()
    revoked = responder.post(f"/api/v1/api-tokens/{created.json()['id']}/revoke/")
    assert revoked.json()["revoked_at"]
    assert fresh.get("/api/v1/services/").status_code == 401


def test_responder_cannot_issue_or_see_tokens_of_others(responder, bob):
    bobs = client_for(bob).post("/api/v1/api-tokens/", {"name": "bob's"}, format="json")
    mine = responder.post("/api/v1/api-tokens/", {"name": "x", "user": bob.pk}, format="json")

    assert bobs.status_code == 201
    assert mine.status_code == 400
    assert "user" in mine.json()
    assert responder.delete(f"/api/v1/api-tokens/{bobs.json()['id']}/").status_code == 404
    assert ApiToken.objects.get(pk=bobs.json()["id"]).revoked_at is None


def test_calendar_feed_can_be_deleted_by_its_owner(responder, alice):
    feed = CalendarFeed.objects.create(user=alice)

    assert responder.delete(f"/api/v1/calendar-feeds/{feed.pk}/").status_code == 204
    assert not CalendarFeed.objects.exists()


# Each builds one more object of its list; list queries must not grow with them.
def _service(n, people):
    service = ServiceFactory(name=f"svc{n}")
    MaintenanceWindow.objects.create(
        service=service,
        starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )


def _integration(n, people):
    IntegrationFactory(name=f"hook{n}")


def _policy(n, people):
    schedule = Schedule.objects.create(name=f"p{n}")
    PolicyFactory(levels=[[people[0], schedule], [people[1]]])


def _schedule(n, people):
    schedule = Schedule.objects.create(name=f"s{n}")
    for level in (1, 2):
        layer = Layer.objects.create(
            schedule=schedule, level=level, handoff_date=dt.date(2026, 1, 5)
        )
        LayerMember.objects.create(layer=layer, user=people[0])
        LayerMember.objects.create(layer=layer, user=people[1], position=1)
        layer.restrictions.create(kind="daily", start_time=dt.time(9), end_time=dt.time(17))
    Override.objects.create(
        schedule=schedule,
        user=people[0],
        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        end=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )


def _user(n, people):
    user = UserFactory(username=f"u{n}")
    method = ContactMethodFactory(user=user)
    NotificationRule.objects.create(user=user, contact_method=method)
    ApiToken.issue(user=user, name="t")
    CalendarFeed.objects.create(user=user)


LISTS = {
    "services": _service,
    "maintenance-windows": _service,
    "integrations": _integration,
    "escalation-policies": _policy,
    "schedules": _schedule,
    "overrides": _schedule,
    "users": _user,
    "contact-methods": _user,
    "notification-rules": _user,
    "api-tokens": _user,
    "calendar-feeds": _user,
}


@pytest.mark.parametrize("url", LISTS)
def test_list_queries_are_the_same_for_1_and_50_objects(staff, alice, bob, url):
    build = LISTS[url]
    build(0, [alice, bob])
    staff.get(f"/api/v1/{url}/")  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as one:
        first = staff.get(f"/api/v1/{url}/?page_size=100").json()
    for n in range(1, 50):
        build(n, [alice, bob])
    with CaptureQueriesContext(connection) as fifty:
        body = staff.get(f"/api/v1/{url}/?page_size=100").json()

    assert first["count"] >= 1
    assert body["count"] >= 50
    assert len(fifty) == len(one)


def test_schema_shows_every_configuration_endpoint_and_the_new_token(db):
    schema = APIClient().get("/api/v1/schema/?format=json").json()

    for url in LISTS:
        assert f"/api/v1/{url}/" in schema["paths"]
    created = schema["paths"]["/api/v1/api-tokens/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "token" in schema["components"]["schemas"][ref]["properties"]


def test_a_contact_method_added_through_the_api_is_verified_with_the_code_it_got(
    responder, alice, twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = responder.post(
            "/api/v1/contact-methods/",
            {"user": alice.pk, "name": "new", "kind": "sms", "address": "+15550100077"},
            format="json",
        )
    (sms,) = twilio.wait_for_messages(1, to="+15550100077", timeout=2)
    code = re.search(r"code is (\d{6})", sms.body)[1]
    url = f"/api/v1/contact-methods/{created.json()['id']}/"

    wrong = responder.post(f"{url}verify/", {"code": "000000" if code != "000000" else "1"})
    right = responder.post(f"{url}verify/", {"code": code}, format="json")

    assert created.status_code == 201
    assert created.json()["verified"] is False
    assert wrong.status_code == 400
    assert "code" in wrong.json()
    assert right.status_code == 200
    assert right.json()["verified"] is True


def test_changing_a_number_makes_it_unverified_again(staff, alice):
    method = ContactMethod.objects.get(user=alice)
    ContactMethod.objects.filter(pk=method.pk).update(verified=True)

    changed = staff.patch(
        f"/api/v1/contact-methods/{method.pk}/", {"address": "+15550100078"}, format="json"
    )
    renamed = staff.patch(f"/api/v1/contact-methods/{method.pk}/", {"name": "x"}, format="json")
    vouched = staff.post(f"/api/v1/contact-methods/{method.pk}/mark-verified/")

    assert changed.json()["verified"] is False
    assert renamed.json()["verified"] is False
    assert vouched.json()["verified"] is True


def test_only_staff_vouch_for_a_contact_method(responder, alice):
    method = ContactMethod.objects.get(user=alice)
    ContactMethod.objects.filter(pk=method.pk).update(verified=False)

    response = responder.post(f"/api/v1/contact-methods/{method.pk}/mark-verified/")

    assert response.status_code == 403
    assert not ContactMethod.objects.get(pk=method.pk).verified
