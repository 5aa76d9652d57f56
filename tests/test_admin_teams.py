"""Admin honours teams: every admin page, for every persona, answers what team roles allow.

The walk takes its pages from `admin.site._registry` and the admin URL patterns: a new model
admin or a new admin view without an expectation here fails the walk.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from accounts.models import ApiToken, Membership, Role, Team, User
from audit.models import AuditEntry
from escalation.models import EscalationPolicy
from paging.engine import incident_escalate
from paging.ingest.formats import Event
from paging.ingest.store import alert_ingest
from paging.models import (
    ContactMethod,
    HandoffNotice,
    Incident,
    Integration,
    Notification,
    NotificationRule,
    Service,
)
from schedules.models import CalendarFeed, Layer, LayerMember, Override, Schedule
from tests.factories import ContactMethodFactory, PolicyFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ("changelist", "add", "change", "delete", "history")
PERSONAS = ("anonymous", "observer", "responder", "manager", "other_manager", "site_admin")

# Answers: a status code, LOGIN (302 to admin's sign-in) or GONE (302 to the admin index: the
# object is not among those the viewer may see, so it "does not exist" for them).
LOGIN, GONE = "login", "gone"
ALL = (200, 200, 200, 200, 200)
READ_ONLY = (200, 403, 200, 403, 200)  # view only: nobody adds or deletes here
HIDDEN = (200, 200, GONE, GONE, GONE)  # may add their own, never sees this one
HIDDEN_READ_ONLY = (200, 403, GONE, 403, GONE)
OPEN_READ = (200, 200, 200, 403, 200)  # another team's schedules: read, never change
REFUSED = (403, 403, 403, 403, 403)
SIGN_INS = {AccessAttempt: REFUSED, AccessLog: REFUSED, AccessFailureLog: REFUSED}

# What each persona gets on (changelist, add, change, delete, history) of Payments' object.
EXPECTED = {
    "manager": {
        Service: ALL,
        Integration: ALL,
        EscalationPolicy: ALL,
        Schedule: ALL,
        Layer: ALL,
        Override: ALL,
        Incident: READ_ONLY,
        Notification: READ_ONLY,
        HandoffNotice: READ_ONLY,
        ContactMethod: ALL,
        NotificationRule: ALL,
        ApiToken: ALL,
        CalendarFeed: ALL,
        User: READ_ONLY,
        Team: READ_ONLY,
        **SIGN_INS,
        AuditEntry: READ_ONLY,  # the audit log: nobody adds, changes or deletes entries
    },
    "other_manager": {
        Service: HIDDEN,
        Integration: HIDDEN,
        EscalationPolicy: HIDDEN,
        Schedule: OPEN_READ,
        Layer: OPEN_READ,
        Override: OPEN_READ,
        Incident: READ_ONLY,
        Notification: HIDDEN_READ_ONLY,
        HandoffNotice: HIDDEN_READ_ONLY,
        ContactMethod: HIDDEN,
        NotificationRule: HIDDEN,
        ApiToken: HIDDEN,
        CalendarFeed: HIDDEN,
        User: HIDDEN_READ_ONLY,
        Team: HIDDEN_READ_ONLY,
        **SIGN_INS,
        AuditEntry: HIDDEN_READ_ONLY,
    },
    "site_admin": {
        **dict.fromkeys(admin.site._registry, ALL),
        Incident: READ_ONLY,
        Notification: (200, 403, 200, 200, 200),
        HandoffNotice: (200, 403, 200, 200, 200),
        **dict.fromkeys(SIGN_INS, (200, 403, 200, 200, 200)),
        AuditEntry: READ_ONLY,
    },
}

# The admin views of our own, and what each persona gets on Payments' object.
CUSTOM = {
    "schedules_schedule_picture": {"manager": 200, "other_manager": 200, "site_admin": 200},
    "auth_user_password_change": {"manager": 403, "other_manager": 403, "site_admin": 200},
}
# Django's own site pages: the front page and app pages are walked; the rest are sign-in,
# sign-out, one's own password, scripts and redirects that teams do not change.
SITE = {"index", "app_list"}
SITE_NOT_WALKED = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
}


@dataclass
class World:
    payments: Team
    search: Team
    people: dict[str, User | None]
    objects: dict[type, object]


def _member(team: Team, username: str, role: str, **extra) -> User:
    user = UserFactory(username=username, **extra)
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def world(db) -> World:
    """Payments' objects of every kind, and the six personas (Search is the other team)."""
    payments = Team.objects.create(name="Payments", slug="payments")
    search = Team.objects.create(name="Search", slug="search")
    people = {
        "anonymous": None,
        "observer": _member(payments, "olga", Role.OBSERVER),
        "responder": _member(payments, "rita", Role.RESPONDER),
        "manager": _member(payments, "max", Role.MANAGER),
        "other_manager": _member(search, "sam", Role.MANAGER),
        "site_admin": UserFactory(username="root", is_staff=True, is_superuser=True),
    }
    rita = people["responder"]
    method = ContactMethodFactory(user=rita, address="+15550100009")
    policy = PolicyFactory(name="payments policy", team=payments, levels=[[rita]])
    service = ServiceFactory(name="payments-api", team=payments, escalation_policy=policy)
    integration = Integration.objects.create(
        service=service, name="payments-webhook", kind="generic"
    )
    incident = alert_ingest(
        integration=integration, event=Event(action="trigger", summary="Disk full"), payload={}
    )
    incident_escalate(incident.pk)
    schedule = Schedule.objects.create(name="payments rota", time_zone="UTC", team=payments)
    layer = Layer.objects.create(schedule=schedule, handoff_date=dt.date(2026, 1, 5))
    LayerMember.objects.create(layer=layer, user=rita, position=0)
    now = timezone.now()
    objects = {
        Service: service,
        Integration: integration,
        EscalationPolicy: policy,
        Schedule: schedule,
        Layer: layer,
        Override: Override.objects.create(
            schedule=schedule, user=rita, start=now, end=now + dt.timedelta(hours=1)
        ),
        Incident: incident,
        Notification: Notification.objects.filter(incident=incident).first(),
        HandoffNotice: HandoffNotice.objects.create(schedule=schedule, user=rita, shift_start=now),
        ContactMethod: method,
        NotificationRule: NotificationRule.objects.create(user=rita, contact_method=method),
        ApiToken: ApiToken.issue(user=rita, name="ci")[0],
        CalendarFeed: CalendarFeed.objects.create(user=rita, created_by=rita),
        User: rita,
        Team: payments,
        **{model: _sign_in(model) for model in SIGN_INS},
        AuditEntry: AuditEntry.objects.filter(team=payments).latest(),
    }
    return World(payments, search, people, objects)


def _sign_in(model):
    """Return a sign-in record of `model` (django-axes): who tried, from where."""
    extra = {"failures_since_start": 1} if model is AccessAttempt else {}
    return model.objects.create(
        user_agent="curl",
        ip_address="127.0.0.1",
        username="max",
        http_accept="*/*",
        path_info="/",
        **extra,
    )


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _page_url(model, page: str, obj) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
    return reverse(name, args=[] if page in ("changelist", "add") else [obj.pk])


def _answer(response) -> int | str:
    if response.status_code != 302:
        return response.status_code
    if response["Location"].startswith(reverse("admin:login")):
        return LOGIN
    return GONE if response["Location"] == reverse("admin:index") else response["Location"]


def _named(patterns, prefix: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _named(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def _model_page_names() -> set[str]:
    return {
        f"{m._meta.app_label}_{m._meta.model_name}_{page}"
        for m in admin.site._registry
        for page in PAGES
    }


def test_every_admin_page_has_an_expectation():
    found = _named(admin.site.get_urls())

    unexpected = found - _model_page_names() - set(CUSTOM) - SITE - SITE_NOT_WALKED
    assert unexpected == set(), "add these admin pages to the walk in this module"
    for persona, expected in EXPECTED.items():
        assert set(expected) == set(admin.site._registry), persona


def _walk(world: World, persona: str) -> dict[str, int | str]:
    client = _client(world.people[persona])
    answers = {}
    for model in admin.site._registry:
        for page in PAGES:
            url = _page_url(model, page, world.objects[model])
            answers[f"{model.__name__} {page}"] = _answer(client.get(url))
    args = {
        "schedules_schedule_picture": [world.objects[Schedule].pk],
        "auth_user_password_change": [world.people["responder"].pk],
    }
    for name, params in args.items():
        answers[name] = _answer(client.get(reverse(f"admin:{name}", args=params)))
    answers["index"] = _answer(client.get(reverse("admin:index")))
    for label in {m._meta.app_label for m in admin.site._registry}:
        answers[f"app {label}"] = _answer(client.get(reverse("admin:app_list", args=[label])))
    return answers


def _expected(persona: str) -> dict[str, int | str]:
    if persona not in EXPECTED:  # not signed in, or not staff and managing no team
        return dict.fromkeys(_walk_keys(), LOGIN)
    wanted = {
        f"{model.__name__} {page}": answer
        for model, answers in EXPECTED[persona].items()
        for page, answer in zip(PAGES, answers, strict=True)
    }
    wanted |= {name: answers[persona] for name, answers in CUSTOM.items()}
    wanted["index"] = 200
    for model, answers in EXPECTED[persona].items():  # an app page lists what one may view
        key = f"app {model._meta.app_label}"
        wanted[key] = 200 if answers[0] == 200 or wanted.get(key) == 200 else 404
    return wanted


def _walk_keys() -> list[str]:
    keys = [f"{m.__name__} {page}" for m in admin.site._registry for page in PAGES]
    apps = [f"app {m._meta.app_label}" for m in admin.site._registry]
    return [*keys, *CUSTOM, "index", *apps]


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_admin_page_answers_each_persona_as_team_roles_allow(world, persona):
    answers = _walk(world, persona)

    wrong = {key: (got, _expected(persona)[key]) for key, got in answers.items()}
    wrong = {key: pair for key, pair in wrong.items() if pair[0] != pair[1]}
    assert wrong == {}, "(got, expected)"


# --- What a team manager meets on the pages -----------------------------------------------------


@pytest.fixture
def search_service(world) -> Service:
    return ServiceFactory(name="search-api", team=world.search, escalation_policy=None)


def _management(page) -> dict[str, str]:
    """Return the management form of each inline on an admin page (no rows added)."""
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def _service_form(page, **fields) -> dict[str, str]:
    base = {"name": "payments-db", "description": "", "urgency": "high", "storm_cap": "20"}
    return {**_management(page), **base, "storm_window": "5m", **fields}


def test_a_manager_lists_only_their_teams_services(world, search_service):
    page = _client(world.people["manager"]).get(reverse("admin:paging_service_changelist"))

    text = page.content.decode()
    assert "payments-api" in text
    assert "search-api" not in text


def test_a_manager_adds_a_service_in_their_team_and_is_not_offered_another(world):
    client = _client(world.people["manager"])
    url = reverse("admin:paging_service_add")
    page = client.get(url)

    choices = page.context["adminform"].form.fields["team"].queryset
    assert list(choices) == [world.payments]
    assert page.context["adminform"].form["team"].value() == world.payments.pk
    assert "Search" not in page.content.decode().split('name="team"', 1)[1].split("</select>")[0]

    refused = client.post(url, _service_form(page, team=world.search.pk))
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert not Service.objects.filter(name="payments-db").exists()

    added = client.post(url, _service_form(page, team=world.payments.pk))
    assert added.status_code == 302
    assert Service.objects.get(name="payments-db").team == world.payments


def test_a_manager_cannot_open_another_teams_integration(world):
    integration = world.objects[Integration]
    client = _client(world.people["other_manager"])

    page = client.get(reverse("admin:paging_integration_change", args=[integration.pk]))
    listed = client.get(reverse("admin:paging_integration_changelist"))

    assert page.status_code == 302 and page["Location"] == reverse("admin:index")
    assert "payments-webhook" not in listed.content.decode()
    assert integration.key not in listed.content.decode()


def test_a_manager_cannot_make_anyone_staff(world):
    rita = world.people["responder"]
    client = _client(world.people["manager"])

    client.post(
        reverse("admin:accounts_user_change", args=[rita.pk]),
        {
            "username": "rita",
            "first_name": "Rita",
            "is_staff": "on",
            "is_superuser": "on",
            "time_zone": "UTC",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    rita.refresh_from_db()
    assert rita.first_name == "Rita"  # the form saved: the manager may change her details
    assert (rita.is_staff, rita.is_superuser) == (False, False)


def test_a_manager_cannot_set_a_team_members_password(world):
    url = reverse("admin:auth_user_password_change", args=[world.people["responder"].pk])
    form = {"password1": "n3w-Secret-pass", "password2": "n3w-Secret-pass"}

    answer = _client(world.people["manager"]).post(url, form)

    assert answer.status_code == 403
    assert not User.objects.get(username="rita").check_password("n3w-Secret-pass")


def test_the_team_filter_lists_one_teams_objects(world, search_service):
    integration = Integration.objects.create(service=search_service, name="s", kind="generic")
    event = Event(action="trigger", summary="Index stale")
    alert_ingest(integration=integration, event=event, payload={})
    client = _client(world.people["site_admin"])

    services = client.get(
        reverse("admin:paging_service_changelist"), {"team__id__exact": world.search.pk}
    )
    incidents = client.get(
        reverse("admin:paging_incident_changelist"),
        {"service__team__id__exact": world.search.pk},
    )

    assert [s.name for s in services.context["cl"].result_list] == ["search-api"]
    assert [i.summary for i in incidents.context["cl"].result_list] == ["Index stale"]
    assert "Payments" in services.content.decode().split('id="changelist-filter"', 1)[1]


def test_another_teams_manager_reads_an_incident_but_cannot_act_on_it(world):
    incident = world.objects[Incident]
    client = _client(world.people["other_manager"])
    url = reverse("admin:paging_incident_change", args=[incident.pk])

    page = client.get(url)
    pressed = client.post(url, {"_incident_action": "acknowledge"})
    selected = client.post(
        reverse("admin:paging_incident_changelist"),
        {"action": "acknowledge", "_selected_action": [incident.pk]},
        follow=True,
    )

    assert "Disk full" in page.content.decode()
    assert 'name="_incident_action"' not in page.content.decode()
    assert pressed.status_code == 403
    assert "1 incident(s) left alone" in selected.content.decode()
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_the_teams_manager_acknowledges_from_the_list(world):
    incident = world.objects[Incident]

    _client(world.people["manager"]).post(
        reverse("admin:paging_incident_changelist"),
        {"action": "acknowledge", "_selected_action": [incident.pk]},
    )

    incident.refresh_from_db()
    assert incident.status == "acknowledged"


def test_another_teams_manager_cannot_delete_its_schedules_in_bulk(world):
    schedule = world.objects[Schedule]

    answer = _client(world.people["other_manager"]).post(
        reverse("admin:schedules_schedule_changelist"),
        {"action": "delete_selected", "_selected_action": [schedule.pk], "post": "yes"},
    )

    assert answer.status_code == 403
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_a_manager_cannot_put_anyone_on_call_in_another_teams_schedule(world):
    schedule = world.objects[Schedule]
    sam = world.people["other_manager"]

    answer = _client(sam).post(
        reverse("admin:schedules_override_add"),
        {
            "schedule": schedule.pk,
            "user": sam.pk,
            "start_0": "2026-03-01",
            "start_1": "09:00",
            "end_0": "2026-03-01",
            "end_1": "17:00",
        },
    )

    assert answer.status_code == 200
    assert "Select a valid choice" in answer.content.decode()
    assert not Override.objects.filter(user=sam).exists()


def test_front_page_counts_only_what_the_viewer_may_read(world, settings):
    settings.TEAMS_OPEN_READ = False

    outsider = _client(world.people["other_manager"]).get(reverse("admin:index"))
    insider = _client(world.people["manager"]).get(reverse("admin:index"))

    assert outsider.context["open_count"] == 0
    assert "Disk full" not in outsider.content.decode()
    assert "payments rota" not in outsider.content.decode()
    assert insider.context["open_count"] == 1
    assert "Disk full" in insider.content.decode()


def test_managers_see_their_team_but_only_site_admins_change_its_members(world):
    olga = world.people["observer"]
    url = reverse("admin:accounts_team_change", args=[world.payments.pk])
    form = {
        "name": "Payments",
        "slug": "payments",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": olga.pk,
        "memberships-0-role": "manager",
    }
    Membership.objects.filter(user=olga).delete()

    by_manager = _client(world.people["manager"]).post(url, form)
    assert by_manager.status_code == 403
    assert not Membership.objects.filter(user=olga).exists()

    by_admin = _client(world.people["site_admin"]).post(url, form)
    assert by_admin.status_code == 302
    assert Membership.objects.get(user=olga).role == "manager"


def test_the_team_list_counts_members_in_one_query_whatever_the_teams(world):
    root = world.people["site_admin"]
    url = reverse("admin:accounts_team_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as done:
            page = _client(root).get(url)
        assert page.status_code == 200
        return len(done)

    before = queries()
    for n in range(3):
        team = Team.objects.create(name=f"Extra {n}", slug=f"extra-{n}")
        _member(team, f"extra{n}", Role.RESPONDER)

    assert queries() == before
    listed = _client(root).get(url).context["cl"]
    counts = {team.name: listed.model_admin.member_count(team) for team in listed.result_list}
    assert counts["Payments"] == 3 and counts["Search"] == 1 and counts["Extra 0"] == 1


def test_a_person_page_lists_their_teams_and_roles(world):
    rita = world.people["responder"]

    page = _client(world.people["manager"]).get(
        reverse("admin:accounts_user_change", args=[rita.pk])
    )

    assert "Payments (responder)" in page.content.decode()


def test_with_reading_closed_another_teams_schedules_and_incidents_are_hidden(world, settings):
    settings.TEAMS_OPEN_READ = False
    hidden = {Schedule: HIDDEN, Layer: HIDDEN, Override: HIDDEN, Incident: HIDDEN_READ_ONLY}
    expected = {**EXPECTED["other_manager"], **hidden}

    answers = _walk(world, "other_manager")

    for model, wanted in expected.items():
        got = tuple(answers[f"{model.__name__} {page}"] for page in PAGES)
        assert got == wanted, model.__name__
    assert answers["schedules_schedule_picture"] == 404
