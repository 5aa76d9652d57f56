"""The responder app's server time: each page as a responder who sees it, on a busy service.

500 open incidents (opened and paged through the real ingest and escalation code, a fifth of them
acknowledged), 50 people in 5 teams, 10 schedules (two per team: a weekly rotation with an
override, and a daily business-hours one), 10 services. The viewer is a responder of the first
team who was paged by some of its incidents and may read all the others (TEAMS_OPEN_READ).
Each page is requested through Django's test client in this process (middleware, view, queries,
template: all the server does but the network), after a warm-up; p50/p99 and the queries per
request are printed. Target: under 100 ms per page.

Runs on the database Django is set up with: `make bench` (PostgreSQL), or SQLite with
`BENCH_DATABASE_URL=sqlite:///var/bench.sqlite3 .venv/bin/python bench/run.py web_pages`.
"""

import datetime as dt
import logging
import statistics
import time
from pathlib import Path

TEAMS = 5
PEOPLE_PER_TEAM = 10
INCIDENTS = 500
RUNS = 50
WARM_UP = 3
TARGET_MS = 100


def _recreate() -> None:
    """Start from an empty, migrated database."""
    from django.core.management import call_command
    from django.db import connection, connections

    if connection.vendor == "postgresql":
        from bench import stack

        stack.recreate_database()
        return
    name = Path(connection.settings_dict["NAME"])
    connections.close_all()
    for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
        path.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)


def _team(n: int, start: dt.date):
    """Make team `n`: its people, two schedules, a policy and two services."""
    from accounts.models import Membership, Role, Team, User
    from escalation.models import EscalationPolicy, Tier
    from paging.models import ContactMethod, Integration, Service
    from schedules.models import Layer, LayerMember, LayerRestriction, Override, Schedule

    team = Team.objects.create(name=f"Team {n}", slug=f"team-{n}")
    people = []
    for i in range(PEOPLE_PER_TEAM):
        person = User.objects.create(username=f"p{n}-{i}", first_name=f"Person {n}-{i}")
        number = f"+1555{n:03d}{i:04d}"
        ContactMethod.objects.create(user=person, kind="sms", address=number, verified=True)
        role = Role.MANAGER if i == 0 else Role.RESPONDER
        Membership.objects.create(team=team, user=person, role=role)
        people.append(person)
    schedules = []
    for kind, unit in (("primary", "weeks"), ("business hours", "days")):
        schedule = Schedule.objects.create(name=f"Team {n} {kind}", team=team, time_zone="UTC")
        layer = Layer.objects.create(schedule=schedule, handoff_date=start, shift_unit=unit)
        for position, person in enumerate(people):
            LayerMember.objects.create(layer=layer, user=person, position=position)
        schedules.append(schedule)
    LayerRestriction.objects.create(
        layer=schedules[1].layers.get(), kind="daily", start_time=dt.time(9), end_time=dt.time(17)
    )
    now = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC) + dt.timedelta(weeks=1)
    Override.objects.create(
        schedule=schedules[0], user=people[1], start=now, end=now + dt.timedelta(days=2)
    )
    policy = EscalationPolicy.objects.create(name=f"Team {n}", team=team)
    first = Tier.objects.create(policy=policy, position=0, ack_timeout=dt.timedelta(hours=1))
    first.schedules.add(schedules[0])
    Tier.objects.create(policy=policy, position=1, ack_timeout=dt.timedelta(hours=1)).users.add(
        people[0]
    )
    integrations = []
    for name in ("API", "Workers"):
        service = Service.objects.create(
            name=f"Team {n} {name}", team=team, escalation_policy=policy, storm_cap=0
        )
        integrations.append(Integration.objects.create(service=service, name="bench"))
    return people, integrations


def _seed() -> tuple:
    """Fill the database; return the viewer (a responder of team 0), one of the incidents that
    paged them, and their team's primary schedule."""
    from django.utils import timezone

    from paging.actions import incident_acknowledge
    from paging.engine import incident_escalate
    from paging.ingest.formats import Event
    from paging.ingest.store import alert_ingest

    start = timezone.now().date() - dt.timedelta(weeks=1)
    teams = [_team(n, start) for n in range(TEAMS)]
    integrations = [i for _, found in teams for i in found]
    incidents = []
    for n in range(INCIDENTS):
        event = Event(
            action="trigger",
            summary=f"Error rate above 5% on web-{n}",
            severity=("critical", "error", "warning")[n % 3],
            dedup_key=f"bench-{n}",
            details={"host": f"web-{n}", "error_rate": "7.2%"},
            links=({"href": f"https://grafana.example/d/{n}", "text": "Dashboard"},),
        )
        integration = integrations[n % len(integrations)]
        incident = alert_ingest(integration=integration, event=event, payload={"n": n})
        incident_escalate(incident.pk)
        incidents.append(incident)
    for incident in incidents[::5]:
        incident_acknowledge(incident=incident, by=teams[0][0][0], via="web")
    viewer = teams[0][0][1]
    mine = next(i for i in incidents if i.notifications.filter(user=viewer).exists())
    return viewer, mine, viewer.memberships.get().team.schedules.order_by("name").last()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _measure(client, path: str) -> tuple[list[float], int]:
    """Request `path` RUNS times; return the server times (ms) and the queries of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARM_UP):
        response = client.get(path, HTTP_HOST="127.0.0.1", secure=True)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(path, HTTP_HOST="127.0.0.1", secure=True)
    count = len(queries)  # now: the next request empties the log the count reads
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(path, HTTP_HOST="127.0.0.1", secure=True)
        times.append((time.perf_counter() - started) * 1000)
    return times, count


def run() -> list[dict]:
    """Seed a busy service, then time each responder page."""
    from celery import current_app
    from django.db import connection
    from django.test import Client

    _recreate()
    vendor = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[connection.vendor]
    seeded = time.perf_counter()
    viewer, incident, schedule = _seed()
    current_app.control.purge()  # the seed's escalation and delivery tasks: nobody runs them
    print(f"  seeded in {time.perf_counter() - seeded:.1f} s on {vendor}")
    logging.getLogger("oncall.access").setLevel(logging.WARNING)  # a line a request: noise here
    client = Client()
    client.force_login(viewer)
    pages = {
        "Now": "/",
        "Incidents (my teams, open)": "/incidents/",
        "Incidents (all, any status)": "/incidents/?scope=all&status=any",
        "An incident": f"/incidents/{incident.pk}/",
        "An incident's live part": f"/incidents/{incident.pk}/live/",
        "Schedules": "/schedules/",
        "A schedule": f"/schedules/{schedule.pk}/",
        "Cover a shift (form)": f"/schedules/{schedule.pk}/cover/",
        "Me": "/me/",
    }
    figures = []
    print(f"  {'page':<28} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8}")
    for name, path in pages.items():
        times, queries = _measure(client, path)
        p50, p99 = statistics.median(times), _percentile(times, 99)
        slow = "  SLOWER THAN 100 ms" if p99 > TARGET_MS else ""
        print(f"  {name:<28} {p50:>8.1f} {p99:>8.1f} {queries:>8}{slow}")
        benchmark = f"web_pages_{connection.vendor}"
        figures += [
            {"benchmark": benchmark, "name": f"{name} p50 ({vendor})", "value": p50, "unit": "ms"},
            {"benchmark": benchmark, "name": f"{name} p99 ({vendor})", "value": p99, "unit": "ms"},
            {
                "benchmark": benchmark,
                "name": f"{name} queries ({vendor})",
                "value": queries,
                "unit": "queries",
            },
        ]
    return figures
