"""Who reads the audit log (site admins all, managers their teams'), its filters, admin, age cap."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.context import acting
from audit.models import AuditEntry
from audit.tasks import prune
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LOG = "/api/v1/audit-log/"
UPDATE = AuditEntry.Action.UPDATE


def change(client: APIClient, service, description: str) -> None:
    url = f"/api/v1/services/{service.pk}/"
    response = client.patch(url, {"description": description}, format="json")
    assert response.status_code == 200, response.content


def descriptions(response) -> list[str]:
    """Return the new descriptions the listed updates record, newest first."""
    assert response.status_code == 200, response.content
    return [
        e["changes"]["description"][1]
        for e in response.json()["results"]
        if e["action"] == "update" and "description" in e["changes"]
    ]


@pytest.fixture
def changed(root, services):
    """Root changed Payments' and Search's descriptions through the API."""
    api = client_for(root)
    change(api, services["payments"], "pay")
    change(api, services["search"], "find")
    return api


def test_a_site_admin_reads_every_teams_entries_newest_first(changed):
    answer = changed.get(LOG)

    assert descriptions(answer) == ["find", "pay"]
    first = answer.json()["results"][0]
    assert first["object_type"] == "paging.service"
    assert (first["team"], first["person"], first["via"]) == ("search", "root", "api")
    assert first["token"].startswith("test (oc_")
    assert "count" in answer.json() and "next" in answer.json()  # paginated like the rest


def test_a_manager_of_payments_never_sees_searchs_entries(changed, manager, services):
    api = client_for(manager)
    search_entry = AuditEntry.objects.filter(team=services["search"].team).latest()

    assert descriptions(api.get(LOG)) == ["pay"]
    assert api.get(LOG, {"team": "search"}).json()["results"] == []
    assert api.get(f"{LOG}{search_entry.pk}/").status_code == 404


def test_a_manager_reads_one_of_their_teams_entries(changed, manager, services):
    mine = AuditEntry.objects.filter(team=services["payments"].team, action=UPDATE).latest()

    answer = client_for(manager).get(f"{LOG}{mine.pk}/")

    assert answer.status_code == 200
    assert answer.json()["changes"] == {"description": ["", "pay"]}


def test_responders_are_refused_and_strangers_asked_to_sign_in(changed, responder):
    assert client_for(responder).get(LOG).status_code == 403
    assert APIClient().get(LOG).status_code == 401


def test_nobody_writes_to_the_audit_log_through_the_api(changed):
    entry = AuditEntry.objects.latest()

    assert changed.delete(f"{LOG}{entry.pk}/").status_code == 405
    assert changed.post(LOG, {}, format="json").status_code == 405
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_filters_by_team_object_and_person(changed, root, manager, services):
    payments = services["payments"]
    with acting(via="admin", person=manager):
        payments.description = "pay by maggie"
        payments.save()

    assert descriptions(changed.get(LOG, {"team": "payments"})) == ["pay by maggie", "pay"]
    by_object = changed.get(LOG, {"object": f"paging.service:{services['search'].pk}"})
    assert descriptions(by_object) == ["find"]
    assert descriptions(changed.get(LOG, {"person": "maggie"})) == ["pay by maggie"]
    by_id = changed.get(LOG, {"person": str(root.pk), "object": f"paging.service:{payments.pk}"})
    assert descriptions(by_id) == ["pay"]


def test_filters_by_time(changed, services):
    entry = AuditEntry.objects.filter(team=services["payments"].team).latest()
    AuditEntry.objects.filter(pk=entry.pk).update(timestamp=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    assert descriptions(changed.get(LOG, {"until": "2026-01-02"})) == ["pay"]
    assert descriptions(changed.get(LOG, {"since": "2026-01-02T00:00:00+01:00"})) == ["find"]
    both = {"since": "2025-12-31T23:00:00Z", "until": "2026-01-01T00:00:01Z"}
    assert descriptions(changed.get(LOG, both)) == ["pay"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("team", "nobody-has-this"),
        ("object", "paging.service"),
        ("object", "paging.service:twelve"),
        ("object", "paging.nothing:12"),
        ("person", "no-such-person"),
        ("since", "yesterday"),
        ("until", "2026-02-30"),
        ("since", "2026-13-01T00:00Z"),
        ("until", "9999-12-31T23:59:59-01:00"),
    ],
)
def test_a_bad_filter_value_is_400_naming_the_parameter(changed, param, value):
    answer = changed.get(LOG, {param: value})

    assert answer.status_code == 400
    assert list(answer.json()) == [param]


# --- Admin ----------------------------------------------------------------------------------


def test_admin_shows_a_manager_only_their_teams_entries_and_no_way_to_change_them(
    client, changed, manager, services
):
    client.force_login(manager)
    search_entry = AuditEntry.objects.filter(team=services["search"].team).latest()
    payments_entry = AuditEntry.objects.filter(team=services["payments"].team).latest()

    page = client.get(reverse("admin:audit_auditentry_changelist"))

    assert page.status_code == 200
    assert (
        page.context["cl"].result_count
        == AuditEntry.objects.filter(team=services["payments"].team).count()
    )
    assert set(page.context["cl"].result_list) == set(
        AuditEntry.objects.filter(team=services["payments"].team)
    )
    other = client.get(reverse("admin:audit_auditentry_change", args=[search_entry.pk]))
    assert other.status_code in (302, 403, 404)
    mine = client.get(reverse("admin:audit_auditentry_change", args=[payments_entry.pk]))
    assert mine.status_code == 200 and b'name="_save"' not in mine.content
    delete = client.post(
        reverse("admin:audit_auditentry_delete", args=[payments_entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert AuditEntry.objects.filter(pk=payments_entry.pk).exists()


def test_admin_shows_a_site_admin_every_entry_and_no_add_button(client, changed, root):
    client.force_login(root)

    page = client.get(reverse("admin:audit_auditentry_changelist"))

    assert page.context["cl"].result_count == AuditEntry.objects.count()
    assert page.context["has_add_permission"] is False
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403


# --- Age cap --------------------------------------------------------------------------------


def _age(entry: AuditEntry, days: int) -> None:
    then = timezone.now() - dt.timedelta(days=days)
    AuditEntry.objects.filter(pk=entry.pk).update(timestamp=then)


def test_the_age_cap_prunes_older_entries_and_keeps_newer_ones(changed, settings, services):
    old = AuditEntry.objects.filter(team=services["payments"].team).latest()
    recent = AuditEntry.objects.filter(team=services["search"].team).latest()
    _age(old, 400)
    _age(recent, 300)
    settings.AUDIT_LOG_MAX_AGE = dt.timedelta(days=365)

    assert prune() == 1

    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()


def test_without_an_age_cap_nothing_is_ever_pruned(changed, settings):
    for entry in AuditEntry.objects.all():
        _age(entry, 5000)
    count = AuditEntry.objects.count()
    settings.AUDIT_LOG_MAX_AGE = None

    assert prune() == 0

    assert AuditEntry.objects.count() == count
