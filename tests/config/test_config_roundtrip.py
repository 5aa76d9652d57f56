"""Property: for any valid file, export → apply on an empty database → export is the same."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import DEFAULT_TEAM_SLUG, Membership, Team, User
from config.apply import apply_document
from config.parse import parse_data, parse_text
from config.read import read_document
from config.render import render_text
from escalation.models import EscalationPolicy
from oncall.durations import format_duration, parse_duration
from paging.models import Service
from schedules.models import Schedule

pytestmark = pytest.mark.django_db

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Hours away from every DST change in ZONES, so no local time falls into a gap.
HOURS = st.sampled_from([0, 6, 9, 12, 18, 23])


@st.composite
def local_times(draw) -> dt.datetime:
    day = draw(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)))
    return dt.datetime.combine(day, dt.time(draw(HOURS), draw(st.sampled_from([0, 15, 30]))))


def clock(draw) -> str:
    return f"{draw(HOURS):02d}:{draw(st.sampled_from([0, 30])):02d}"


@st.composite
def users(draw, username: str) -> dict:
    kinds = draw(st.lists(st.sampled_from(["sms", "voice", "email"]), max_size=3))
    methods = [
        {"name": f"m{n}", "type": kind, "address": f"{username}{n}@example.com"}
        if kind == "email"
        else {"name": f"m{n}", "type": kind, "address": f"+1555000{n:04d}"}
        for n, kind in enumerate(kinds)
    ]
    for method in methods:
        if draw(st.booleans()):
            method["verified"] = draw(st.booleans())
    rules = [
        {"contact_method": m["name"], "after": format_duration(dt.timedelta(seconds=s))}
        for m, s in zip(methods, draw(st.lists(st.integers(0, 3600), max_size=3)), strict=False)
    ]
    name = draw(st.sampled_from(["", "Ann", "Ann Lee", "Mary Ann Lee"]))
    user = {"username": username, "name": name, "time_zone": draw(st.sampled_from(ZONES))}
    if draw(st.booleans()):
        user["staff"] = True
    return user | {"contact_methods": methods, "notification_rules": rules}


@st.composite
def restrictions(draw) -> dict:
    form = draw(st.sampled_from(["daily", "days", "span"]))
    start, end = clock(draw), clock(draw)
    if form == "daily":
        return {"start": start, "end": end}
    if form == "days":
        return {
            "days": draw(st.lists(st.sampled_from(DAYS), min_size=1, unique=True)),
            "start": start,
            "end": end,
        }
    return {
        "start": f"{draw(st.sampled_from(DAYS))} {start}",
        "end": f"{draw(st.sampled_from(DAYS))} {end}",
    }


ICS = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nEND:VCALENDAR\n"


@st.composite
def layers(draw, n: int, people: list[str]) -> dict:
    layer = {"name": f"layer {n}", "restrictions": draw(st.lists(restrictions(), max_size=2))}
    kind = draw(st.sampled_from(["rotation", "rotation", "calendar", "ics"]))
    if kind == "calendar":
        return layer | {"calendar": f"https://calendar.example.com/{n}.ics"}
    if kind == "ics":
        return layer | {"ics": ICS}
    return layer | {
        "participants": draw(st.lists(st.sampled_from(people), min_size=1, max_size=4)),
        "shift": f"{draw(st.integers(1, 3))}{draw(st.sampled_from('hdw'))}",
        "start": draw(local_times()).isoformat(),
    }


@st.composite
def schedules(draw, name: str, people: list[str]) -> dict:
    layer_list = [draw(layers(n, people)) for n in range(draw(st.integers(0, 3)))]
    overrides = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(local_times())
        end = start + dt.timedelta(hours=draw(st.integers(1, 72)))
        override = {"user": draw(st.sampled_from(people)), "start": start.isoformat()}
        overrides.append(override | {"end": end.replace(hour=draw(HOURS)).isoformat()})
    overrides = [o for o in overrides if o["end"] > o["start"]]
    zone = draw(st.sampled_from(ZONES))
    schedule = {"name": name, "time_zone": zone, "layers": layer_list, "overrides": overrides}
    return schedule | {"handoff_notice": draw(st.booleans())}


@st.composite
def policies(draw, name: str, people: list[str], rotas: list[str]) -> dict:
    targets = [{"user": u} for u in people] + [{"schedule": s} for s in rotas]
    tiers = [
        {
            "targets": draw(st.lists(st.sampled_from(targets), min_size=1, max_size=3)),
            "ack_timeout": format_duration(dt.timedelta(seconds=draw(st.integers(1, 7200)))),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    return {"name": name, "repeat": draw(st.integers(0, 3)), "tiers": tiers}


@st.composite
def services(draw, index: int, policy_names: list[str]) -> dict:
    hooks = []
    for n, kind in enumerate(
        draw(st.lists(st.sampled_from(["generic", "heartbeat", "grafana"]), max_size=3))
    ):
        hook = {"name": f"hook {n}", "kind": kind}
        if kind == "heartbeat":
            hook["interval"] = draw(st.sampled_from(["10s", "5m", "1h30m", "1d", "1w"]))
        if kind == "grafana" and draw(st.booleans()):
            hook |= {"signing_secret": "s3cret", "signing_timestamp_required": True}
            hook["signing_timestamp_header"] = draw(st.sampled_from(["X-Stamp", "X-Time"]))
        if draw(st.booleans()):
            hook["key"] = f"key-{index}-{n}-abcdefghijklmnop"
        hooks.append(hook)
    service = {"name": f"service {index}", "integrations": hooks}
    if policy_names and draw(st.booleans()):
        service["escalation_policy"] = draw(st.sampled_from(policy_names))
    for key in ("ack_timeout", "auto_resolve"):
        if draw(st.booleans()):
            service[key] = format_duration(dt.timedelta(minutes=draw(st.integers(1, 10000))))
    start = dt.datetime.combine(
        draw(st.dates(dt.date(2026, 1, 1), dt.date(2027, 1, 1))), dt.time(12)
    )
    service["maintenance_windows"] = [
        {"start": f"{start.isoformat()}Z", "end": f"{(start + dt.timedelta(hours=h)).isoformat()}Z"}
        for h in draw(st.lists(st.integers(1, 48), max_size=2, unique=True))
    ]
    service["storm_cap"] = draw(st.integers(0, 50))
    return service


# (name, slug): a slug of None is left out of the file, to be made from the name.
TEAMS = [
    ("Payments", None),
    ("Search & Ads", None),
    ("Site Reliability", "sre"),
    ("Data", "data_team"),
    ("Default", None),  # the Default team, given members
]
ROLES = ["manager", "responder", "observer"]


@st.composite
def teams(draw, people: list[str]) -> list[dict]:
    chosen = draw(st.lists(st.sampled_from(TEAMS), max_size=3, unique=True))
    found = []
    for team_name, slug in chosen:
        members = draw(st.lists(st.sampled_from(people), max_size=3, unique=True))
        team = {"name": team_name} | ({"slug": slug} if slug else {})
        if members or draw(st.booleans()):
            team["members"] = [{"user": u, "role": draw(st.sampled_from(ROLES))} for u in members]
        found.append(team)
    return found


def slug_of(team: dict) -> str:
    return team.get("slug") or {"Payments": "payments", "Search & Ads": "search-ads"}.get(
        team["name"], DEFAULT_TEAM_SLUG
    )


@st.composite
def owned(draw, objects: list[dict], slugs: list[str]) -> list[dict]:
    """Give each object a team: left out (the Default team), named, or `default` said aloud."""
    for obj in objects:
        team = draw(st.sampled_from([None, DEFAULT_TEAM_SLUG, *slugs]))
        if team is not None:
            obj["team"] = team
    return objects


@st.composite
def configs(draw) -> dict:
    people = draw(
        st.lists(st.text("abcdefgh", min_size=1, max_size=5), min_size=1, max_size=4, unique=True)
    )
    team_list = draw(teams(people))
    slugs = [slug_of(t) for t in team_list]
    rotas = [f"rota {n}" for n in range(draw(st.integers(0, 2)))]
    policy_names = [f"policy {n}" for n in range(draw(st.integers(0, 2)))]
    schedule_list = [draw(schedules(r, people)) for r in rotas]
    policy_list = [draw(policies(p, people, rotas)) for p in policy_names]
    service_list = [draw(services(n, policy_names)) for n in range(draw(st.integers(0, 2)))]
    return {
        "users": [draw(users(u)) for u in people],
        "teams": team_list,
        "schedules": draw(owned(schedule_list, slugs)),
        "escalation_policies": draw(owned(policy_list, slugs)),
        "services": draw(owned(service_list, slugs)),
    }


def wipe() -> None:
    for model in (Service, EscalationPolicy, Schedule):
        model.objects.all().delete()
    Team.objects.exclude(slug=DEFAULT_TEAM_SLUG).delete()
    User.objects.all().delete()


def owners_in(data: dict) -> set[tuple[str, str]]:
    sections = ("schedules", "escalation_policies", "services")
    return {(x["name"], x.get("team", DEFAULT_TEAM_SLUG)) for k in sections for x in data[k]}


def owners() -> set[tuple[str, str]]:
    return {
        (name, slug)
        for model in (Schedule, EscalationPolicy, Service)
        for name, slug in model.objects.values_list("name", "team__slug")
    }


def memberships_in(data: dict) -> set[tuple[str, str, str]]:
    return {(slug_of(t), m["user"], m["role"]) for t in data["teams"] for m in t.get("members", [])}


def memberships() -> set[tuple[str, str, str]]:
    return set(Membership.objects.values_list("team__slug", "user__username", "role"))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=configs())
def test_export_apply_export_is_the_same_file_and_a_second_apply_changes_nothing(db, data):
    with transaction.atomic():
        apply_document(parse_data(data, known={}))
        assert owners() == owners_in(data)
        assert memberships() == memberships_in(data)
        exported = render_text(read_document())
        wipe()

        apply_document(parse_text(exported))
        again = apply_document(parse_text(exported))

        assert render_text(read_document()) == exported
        assert owners() == owners_in(data)
        assert memberships() == memberships_in(data)
        assert {c.action for c in again} == {"unchanged"}
        transaction.set_rollback(True)


@given(st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)))
def test_durations_round_trip(value):
    whole = dt.timedelta(seconds=int(value.total_seconds()))

    assert parse_duration(format_duration(whole)) == whole


def test_grafana_timestamp_requirement_is_set_and_exported(db):
    hook = {
        "name": "grafana",
        "kind": "grafana",
        "signing_secret": "s3cret",
        "signing_timestamp_required": True,
    }
    with transaction.atomic():
        apply_document(
            parse_data({"services": [{"name": "web", "integrations": [hook]}]}, known={})
        )

        integration = Service.objects.get(name="web").integrations.get()
        assert integration.signing_timestamp_required is True
        assert integration.signing_timestamp_header == "X-Grafana-Alerting-Signature-Timestamp"
        assert "signing_timestamp_required: true" in render_text(read_document())
        transaction.set_rollback(True)
