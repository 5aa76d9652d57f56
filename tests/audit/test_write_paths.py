"""Each way configuration changes is recorded: admin, the API (person, token), `oncall apply`."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from audit.models import AuditEntry
from paging.models import Integration, MaintenanceWindow, Service
from schedules.models import CalendarFeed

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def entries_of(obj) -> list[AuditEntry]:
    return list(AuditEntry.objects.get_for_object(obj).order_by("timestamp", "id"))


def bearer(user, name: str) -> tuple[APIClient, ApiToken, str]:
    token, raw = ApiToken.issue(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, token, raw


def service_form(service: Service, **fields: str) -> dict:
    return {
        "name": service.name,
        "team": service.team_id,
        "description": service.description,
        "escalation_policy": service.escalation_policy_id,
        "urgency": service.urgency,
        "storm_cap": "20",
        "storm_window": "5m",
        "ack_timeout": "",
        "auto_resolve_after": "",
        "integrations-TOTAL_FORMS": "0",
        "integrations-INITIAL_FORMS": "0",
        "maintenance_windows-TOTAL_FORMS": "0",
        "maintenance_windows-INITIAL_FORMS": "0",
        **fields,
    }


def test_a_change_in_admin_is_recorded_with_its_person_team_and_before_and_after(
    client, root, services
):
    service = services["payments"]
    client.force_login(root)

    response = client.post(
        reverse("admin:paging_service_change", args=[service.pk]),
        service_form(service, description="Card payments"),
    )

    assert response.status_code == 302, response.content.decode()[:500]
    entry = entries_of(service)[-1]
    assert entry.action == AuditEntry.Action.UPDATE
    assert (entry.via, entry.actor, entry.team_id) == ("admin", root, service.team_id)
    assert entry.changes["description"] == ["", "Card payments"]
    assert entry.token_label == ""


def test_an_api_change_names_the_person_and_the_token_they_used(root, services):
    service = services["payments"]
    api, token, raw = bearer(root, "deploys")

    response = api.patch(f"/api/v1/services/{service.pk}/", {"description": "Cards"}, format="json")

    assert response.status_code == 200, response.content
    entry = entries_of(service)[-1]
    assert (entry.via, entry.actor, entry.token_id) == ("api", root, token.pk)
    assert entry.token_label == f"deploys ({token.hint}…)"
    assert entry.changes == {"description": ["", "Cards"]}
    assert entry.cid == response["X-Request-ID"]  # the request's id, as in the log lines
    assert raw not in str(entry.__dict__)


def test_a_session_in_the_api_records_the_person_without_a_token(client, root, services):
    service = services["search"]
    client.force_login(root)

    client.patch(
        f"/api/v1/services/{service.pk}/",
        {"description": "Finds"},
        content_type="application/json",
    )

    entry = entries_of(service)[-1]
    assert (entry.via, entry.actor, entry.token_id, entry.token_label) == ("api", root, None, "")


def test_oncall_apply_records_a_service_change_through_apply(tmp_path, db):
    path = tmp_path / "oncall.yaml"
    path.write_text("services:\n  - {name: checkout, description: Old}\n")
    call_command("oncall", "apply", str(path), stdout=io.StringIO())
    path.write_text("services:\n  - {name: checkout, description: New}\n")

    call_command("oncall", "apply", str(path), stdout=io.StringIO())

    service = Service.objects.get(name="checkout")
    created, changed = entries_of(service)
    assert created.action == AuditEntry.Action.CREATE
    assert changed.action == AuditEntry.Action.UPDATE
    assert changed.changes == {"description": ["Old", "New"]}
    assert (changed.via, changed.actor, changed.team_id) == ("apply", None, service.team_id)
    assert changed.os_user  # who ran it on the server


def test_a_dry_run_of_apply_records_nothing(tmp_path, db):
    path = tmp_path / "oncall.yaml"
    path.write_text("services:\n  - {name: checkout}\n")

    call_command("oncall", "apply", str(path), "--dry-run", stdout=io.StringIO())

    assert not AuditEntry.objects.filter(object_repr="checkout").exists()


def test_integration_secrets_never_reach_the_log_or_its_api(root, services):
    api, _, _ = bearer(root, "setup")
    body = {
        "name": "grafana",
        "kind": "grafana",
        "service": services["payments"].pk,
        "signing_secret": "hush-hush-signing-secret",
    }
    created = api.post("/api/v1/integrations/", body, format="json")
    hook = Integration.objects.get(pk=created.json()["id"])
    api.patch(
        f"/api/v1/integrations/{hook.pk}/",
        {"signing_secret": "another-signing-secret"},
        format="json",
    )

    first, second = entries_of(hook)
    answer = api.get("/api/v1/audit-log/", {"object": f"paging.integration:{hook.pk}"})
    assert first.changes["key"] == ["(empty)", "********"]
    assert first.changes["signing_secret"] == ["(empty)", "********"]
    assert second.changes == {"signing_secret": ["********", "********"]}
    for text in (str(first.changes), str(second.changes), answer.content.decode()):
        assert hook.key not in text
        assert "hush-hush" not in text and "another-signing" not in text
    assert len(answer.json()["results"]) == 2


def test_tokens_feeds_and_passwords_are_recorded_without_their_secrets(root, services):
    token, raw = ApiToken.issue(user=root, name="cron")
    feed = CalendarFeed.objects.create(user=root)
    root.set_password("correct horse battery staple")
    root.save()

    token_entry, feed_entry = entries_of(token)[0], entries_of(feed)[0]
    assert token_entry.changes["name"] == [None, "cron"]
    assert "digest" not in token_entry.changes and raw not in str(token_entry.changes)
    assert "token" not in feed_entry.changes and feed.token not in str(feed_entry.changes)
    assert all("password" not in e.changes for e in entries_of(root))
    assert root.password not in str([e.changes for e in entries_of(root)])


def test_a_delete_is_recorded_with_what_was_deleted(root, services):
    service = services["search"]
    window = MaintenanceWindow.objects.create(
        service=service, starts_at=WHEN, ends_at=WHEN + dt.timedelta(hours=1), reason="db"
    )
    api, _, _ = bearer(root, "ops")

    assert api.delete(f"/api/v1/maintenance-windows/{window.pk}/").status_code == 204

    deleted = entries_of(window)[-1]
    assert deleted.action == AuditEntry.Action.DELETE
    assert (deleted.via, deleted.actor, deleted.team_id) == ("api", root, service.team_id)
    assert deleted.changes["reason"] == ["db", None]


def test_adding_people_to_a_level_is_recorded_on_the_level(root, services, teams):
    from tests.factories import UserFactory

    policy = services["payments"].escalation_policy
    tier = policy.tiers.create(position=0)
    tier.users.add(UserFactory(username="zoe", first_name="Zoe", last_name="Z"))

    m2m = entries_of(tier)[-1]
    assert m2m.changes["users"] == {"type": "m2m", "operation": "add", "objects": ["Zoe Z"]}
    assert m2m.team_id == policy.team_id


def test_incidents_are_not_in_the_audit_log(root, services):
    from paging.ingest.formats import Event
    from paging.ingest.store import alert_ingest
    from tests.factories import IntegrationFactory

    hook = IntegrationFactory(service=services["payments"])
    before = AuditEntry.objects.count()
    alert_ingest(integration=hook, event=Event(action="trigger", summary="Down"), payload={})

    assert AuditEntry.objects.count() == before


def test_a_change_outside_any_request_or_command_is_recorded_through_system(services):
    service = services["search"]

    service.description = "changed by a task"
    service.save()

    entry = entries_of(service)[-1]
    assert (entry.via, entry.actor, entry.token_id, entry.os_user) == ("system", None, None, "")
    assert entry.team_id == service.team_id


def test_an_integration_key_written_in_a_file_never_reaches_the_log(tmp_path, db):
    path = tmp_path / "oncall.yaml"
    path.write_text(
        "services:\n"
        "  - name: checkout\n"
        "    integrations:\n"
        "      - {name: prom, kind: alertmanager, key: am-checkout-7f3c9a}\n"
    )

    call_command("oncall", "apply", str(path), stdout=io.StringIO())

    hook = Integration.objects.get(name="prom")
    entry = entries_of(hook)[0]
    assert entry.via == "apply"
    assert entry.changes["key"] == ["(empty)", "********"]
    assert "7f3c9a" not in str(AuditEntry.objects.values_list("changes", "object_repr"))


def test_a_team_target_of_a_level_is_recorded_for_the_policys_team(services, teams, root):
    from escalation.models import TierTeam

    policy = services["payments"].escalation_policy
    tier = policy.tiers.create(position=0)

    link = TierTeam.objects.create(tier=tier, team=teams["search"])
    link.last_picked = root  # paging moves the round-robin pointer: not a change of configuration
    link.save(update_fields=["last_picked"])

    (created,) = entries_of(link)
    assert created.changes["team"] == [None, teams["search"].pk]
    assert created.team_id == policy.team_id


def test_a_push_subscription_is_recorded_without_its_endpoint_or_keys(root):
    from paging.models import ContactMethod, PushSubscription

    method = ContactMethod.objects.create(user=root, kind="push", address="push.example #abc")
    endpoint = "https://push.example/send/very-secret-endpoint"

    sub = PushSubscription.objects.create(
        contact_method=method, endpoint=endpoint, p256dh="secret-p256dh", auth="secret-auth"
    )

    changes = entries_of(sub)[0].changes
    assert changes["endpoint"] == changes["p256dh"] == changes["auth"] == ["(empty)", "********"]
    assert "secret" not in str(changes)


def test_oncall_apply_with_a_token_records_its_person_and_the_token(tmp_path, root):
    token, raw = ApiToken.issue(user=root, name="gitops")
    path = tmp_path / "oncall.yaml"
    path.write_text("services:\n  - {name: checkout, description: Old}\n")

    call_command("oncall", "apply", str(path), "--token", raw, stdout=io.StringIO())

    (created,) = entries_of(Service.objects.get(name="checkout"))
    assert (created.via, created.actor, created.token_id) == ("apply", root, token.pk)
    assert created.token_label == f"gitops ({token.hint}…)"
    assert raw not in str(created.__dict__)
