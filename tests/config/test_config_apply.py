"""`manage.py oncall apply / export`: the database matches the file, twice changes nothing."""

import datetime as dt
import io
import textwrap

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from accounts.models import User
from escalation.models import EscalationPolicy
from paging.models import ContactMethod, Integration, NotificationRule, Service
from schedules.models import Layer, Override, Schedule
from schedules.resolver import oncall_at
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXAMPLE = """
users:
  - username: alice
    name: Alice Adams
    email: alice@example.com
    time_zone: Europe/Berlin
    contact_methods:
      - {name: phone, type: sms, address: "+15550100001"}
      - {name: call, type: voice, address: "+15550100001"}
      - {name: mail, type: email, address: alice@example.com}
    notification_rules:
      - {contact_method: phone, after: 0s}
      - {contact_method: call, after: 2m}
  - {username: bob, name: Bob Brown}
  - {username: carol, name: Carol Clark}
  - {username: dave, name: Dave Davis}
schedules:
  - name: primary
    time_zone: America/New_York
    layers:
      - name: weekdays
        participants: [alice, bob]
        shift: 1w
        start: "2026-01-05T09:00"
        restrictions: [{days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}]
    overrides:
      - {user: carol, start: "2026-12-24T00:00", end: "2026-12-27T00:00"}
escalation_policies:
  - name: default
    repeat: 1
    tiers:
      - {targets: [{schedule: primary}], ack_timeout: 5m}
      - {targets: [{user: bob}], ack_timeout: 10m}
      - {targets: [{user: carol}, {user: dave}], ack_timeout: 10m}
services:
  - name: payments
    escalation_policy: default
    ack_timeout: 30m
    auto_resolve: 4h
    maintenance_windows:
      - {start: "2026-12-31T22:00Z", end: "2027-01-01T02:00Z", reason: upgrade}
    integrations:
      - {name: prometheus, kind: alertmanager, key: "am-payments-7f3c9a"}
      - {name: jobs, kind: generic}
      - {name: nightly-backup, kind: heartbeat, interval: 1d}
"""


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall", *args, stdout=out)
    return out.getvalue()


def apply(tmp_path, text: str, *flags: str) -> str:
    path = tmp_path / "oncall.yaml"
    path.write_text(textwrap.dedent(text))
    return run("apply", str(path), *flags)


def test_example_creates_everything_and_a_second_apply_changes_nothing(tmp_path, settings):
    settings.PUBLIC_URL = "https://oncall.example.com"
    first = apply(tmp_path, EXAMPLE)
    keys = dict(Integration.objects.values_list("name", "key"))
    second = apply(tmp_path, EXAMPLE)

    assert "created user alice" in first
    assert first.splitlines()[-1] == "7 created, 0 updated, 0 deleted, 0 unchanged"
    assert second.splitlines()[-1] == "0 created, 0 updated, 0 deleted, 7 unchanged"
    assert dict(Integration.objects.values_list("name", "key")) == keys
    hook = Integration.objects.get(name="prometheus")
    assert hook.url == "https://oncall.example.com/integrations/am-payments-7f3c9a/"
    assert Integration.objects.get(name="nightly-backup").heartbeat_interval == dt.timedelta(days=1)
    alice = User.objects.get(username="alice")
    rules = NotificationRule.objects.filter(user=alice).select_related("contact_method")
    assert [(r.contact_method.kind, r.delay) for r in rules] == [
        ("sms", dt.timedelta(0)),
        ("voice", dt.timedelta(minutes=2)),
    ]
    service = Service.objects.get()
    assert (service.ack_timeout, service.auto_resolve_after) == (
        dt.timedelta(minutes=30),
        dt.timedelta(hours=4),
    )
    assert service.escalation_policy.tiers.count() == 3


def test_local_times_are_in_the_schedules_zone(tmp_path):
    apply(tmp_path, EXAMPLE)
    schedule = Schedule.objects.get()
    monday_10am_new_york = dt.datetime(2026, 1, 12, 15, tzinfo=dt.UTC)
    monday_8am_new_york = dt.datetime(2026, 1, 12, 13, tzinfo=dt.UTC)

    assert Override.objects.get().start == dt.datetime(2026, 12, 24, 5, tzinfo=dt.UTC)
    people = User.objects.in_bulk(field_name="pk")
    on_call = oncall_at(schedule.snapshot(), monday_10am_new_york)
    assert [people[p].username for p in on_call] == ["bob"]  # second week of the rotation
    assert not oncall_at(schedule.snapshot(), monday_8am_new_york)  # outside 09:00-17:00


def test_export_then_apply_on_an_empty_database_then_export_is_the_same_file(tmp_path):
    apply(tmp_path, EXAMPLE)
    exported = run("export")
    for model in (Service, EscalationPolicy, Schedule, User):
        model.objects.all().delete()

    apply(tmp_path, exported)

    assert run("export") == exported
    assert "key: am-payments-7f3c9a" in exported


def test_export_writes_to_a_file(tmp_path):
    apply(tmp_path, EXAMPLE)

    run("export", "--out", str(tmp_path / "out.yaml"))

    assert (tmp_path / "out.yaml").read_text() == run("export")


def test_changed_file_updates_in_place_keeping_integrations_and_their_keys(tmp_path):
    apply(tmp_path, EXAMPLE)
    before = {i.name: (i.pk, i.key) for i in Integration.objects.all()}
    changed = EXAMPLE.replace("ack_timeout: 30m", "ack_timeout: 45m").replace(
        "{name: jobs, kind: generic}", "{name: jobs, kind: generic, enabled: false}"
    )

    out = apply(tmp_path, changed)

    assert "updated service payments (ack_timeout, integrations)" in out
    assert "unchanged user alice" in out
    assert {i.name: (i.pk, i.key) for i in Integration.objects.all()} == before
    assert Service.objects.get().ack_timeout == dt.timedelta(minutes=45)
    assert not Integration.objects.get(name="jobs").enabled


def test_dry_run_says_what_would_change_and_changes_nothing(tmp_path):
    out = apply(tmp_path, EXAMPLE, "--dry-run")

    assert "created service payments" in out
    assert out.splitlines()[-1].endswith("(dry run: nothing changed)")
    assert not Service.objects.exists() and not User.objects.exists()


def test_prune_deletes_what_the_file_leaves_out_but_never_superusers(tmp_path):
    User.objects.create_superuser("root", "root@example.com", "pw")
    apply(tmp_path, EXAMPLE)
    smaller = EXAMPLE.replace("  - {username: dave, name: Dave Davis}\n", "").replace(
        ", {user: dave}", ""
    )

    kept = apply(tmp_path, smaller)
    pruned = apply(tmp_path, smaller, "--prune")

    assert "deleted" not in kept.replace("0 deleted", "")
    assert User.objects.filter(username="dave").exists() is False
    assert "deleted user dave" in pruned
    assert User.objects.filter(username="root").exists()


def test_prune_never_deletes_incidents(tmp_path):
    apply(tmp_path, EXAMPLE)
    Service.objects.create(name="legacy").incidents.create(dedup_key="x", summary="old")

    with pytest.raises(CommandError, match='services: "legacy" is not in the file but has incid'):
        apply(tmp_path, EXAMPLE, "--prune")

    assert Service.objects.filter(name="legacy").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("escalation_policy: default", "escalation_policy: db"),
            'services[0].escalation_policy: no policy named "db"',
        ),
        (
            ("participants: [alice, bob]", "participants: [alice, bobby]"),
            "participants[1]: no user",
        ),
        (
            ("ack_timeout: 30m", "ack_timeout: half an hour"),
            "services[0].ack_timeout: must be a dur",
        ),
        (('end: "17:00"', "end: 17:00"), "restrictions[0].end: must be a time"),
        (("America/New_York", "America/Gotham"), "schedules[0].time_zone: 'America/Gotham'"),
        (("type: voice", "type: pigeon"), "users[0].contact_methods[1].type: must be one of"),
        (("after: 2m", "after: 2m, when: always"), "users[0].notification_rules[1].when: unknown"),
        (('"am-payments-7f3c9a"', '"short"'), "integrations[0].key: must be 16 to 64"),
        (("interval: 1d", "interval: 5s"), "integrations[2].interval: Use at least 10 seconds"),
        (("shift: 1w", "shift: 1 fortnight"), "layers[0].shift: must be a number of hours"),
        (('"2026-12-27T00:00"', '"2026-12-23T00:00"'), "overrides[0].end: must be after the start"),
        (("{username: bob", "{username: alice"), 'users[1].username: "alice" is already users[0]'),
    ],
)
def test_an_error_names_its_place_in_the_file_and_nothing_changes(tmp_path, change, message):
    with pytest.raises(CommandError) as raised:
        apply(tmp_path, EXAMPLE.replace(*change))

    assert message in str(raised.value)
    assert not User.objects.exists()


def test_one_invalid_object_late_in_the_file_rolls_back_the_whole_apply(tmp_path):
    other = Service.objects.create(name="other")
    Integration.objects.create(service=other, name="x", kind="generic", key="am-payments-7f3c9a")

    with pytest.raises(
        CommandError, match=r"services\[0\].integrations\[0\].key: .*already exists"
    ):
        apply(tmp_path, EXAMPLE)

    assert not User.objects.exists() and not Schedule.objects.exists()


def test_references_may_name_objects_already_in_the_database(tmp_path):
    UserFactory(username="erin")

    apply(tmp_path, "escalation_policies: [{name: p, tiers: [{targets: [{user: erin}]}]}]")

    assert EscalationPolicy.objects.get().tiers.get().users.get().username == "erin"


def test_a_local_time_skipped_by_dst_is_refused(tmp_path):
    text = EXAMPLE.replace('"2026-12-24T00:00"', '"2026-03-08T02:30"')

    with pytest.raises(
        CommandError, match=r"overrides\[0\].start: 2026-03-08T02:30 does not exist"
    ):
        apply(tmp_path, text)


def test_a_duration_past_a_year_is_refused_naming_its_place(tmp_path):
    text = "services: [{name: s, storm_window: 5200w}]"

    with pytest.raises(CommandError, match=r"services\[0\].storm_window: .*366 days"):
        apply(tmp_path, text)

    assert not Service.objects.exists()


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(CommandError, match="line 3: not valid YAML"):
        apply(tmp_path, "users:\n  - {username: [\n")


def test_the_readme_example_applies_and_round_trips(tmp_path):
    readme = (django_settings.BASE_DIR / "README.md").read_text()
    section = readme[readme.index("## Configuration as code") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n\nDurations")]

    out = apply(tmp_path, example)
    exported = run("export")
    for model in (Service, EscalationPolicy, Schedule, User):
        model.objects.all().delete()
    apply(tmp_path, exported)

    assert out.splitlines()[-1] == "7 created, 0 updated, 0 deleted, 0 unchanged"
    assert run("export") == exported
    assert Integration.objects.get(name="grafana").grouping == "alert"


def test_overrides_and_windows_the_file_leaves_out_are_left_alone(tmp_path):
    apply(tmp_path, EXAMPLE)
    schedule, carol = Schedule.objects.get(), User.objects.get(username="carol")
    taken = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
    Override.objects.create(schedule=schedule, user=carol, start=taken, end=taken + dt.timedelta(1))
    drop = ("overrides:", "{user: carol, start", "maintenance_windows:", '{start: "2026-12-31')
    without = "\n".join(line for line in EXAMPLE.splitlines() if not any(d in line for d in drop))

    out = apply(tmp_path, without)

    assert out.splitlines()[-1] == "0 created, 0 updated, 0 deleted, 7 unchanged"
    assert Override.objects.count() == 2
    assert Service.objects.get().maintenance_windows.count() == 1


def test_every_problem_is_listed_at_once(tmp_path):
    text = EXAMPLE.replace("participants: [alice, bob]", "participants: [alice, 7.5]").replace(
        "repeat: 1", "repeat: many"
    )

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text)

    assert "schedules[0].layers[0].participants[1]: must be a string" in str(raised.value)
    assert "escalation_policies[0].repeat: must be a whole number" in str(raised.value)


def test_an_unknown_key_is_refused_naming_its_place_and_the_likely_key(tmp_path):
    text = EXAMPLE.replace("time_zone: Europe/Berlin", "timezone: Europe/Berlin").replace(
        "ack_timeout: 5m", "ack_timout: 5m"
    )

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text + "servics: []\n")

    problems = str(raised.value)
    assert 'users[0].timezone: unknown key; did you mean "time_zone"? expected one of' in problems
    assert 'tiers[0].ack_timout: unknown key; did you mean "ack_timeout"?' in problems
    assert 'servics: unknown key; did you mean "services"?' in problems
    assert not User.objects.exists()


def test_duplicate_names_from_admin_get_numbered_on_export_and_round_trip(tmp_path):
    erin = UserFactory(username="erin")
    ContactMethod.objects.create(user=erin, kind="sms", address="+15550100009")
    ContactMethod.objects.create(user=erin, kind="voice", address="+15550100009")
    exported = run("export")
    User.objects.all().delete()

    apply(tmp_path, exported)

    assert "{name: mobile-2, type: voice" in exported
    assert run("export") == exported


CALENDARS = """
users: [{username: alice}]
schedules:
  - name: support
    time_zone: Europe/Berlin
    handoff_notice: true
    layers:
      - {name: team calendar, calendar: "https://calendar.example.com/support.ics"}
      - name: uploaded
        ics: |
          BEGIN:VCALENDAR
          VERSION:2.0
          PRODID:-//example//EN
          END:VCALENDAR
      - {name: weekends, participants: [alice], shift: 1w, start: "2026-01-03T09:00"}
"""


def test_calendar_layers_apply_in_place_and_round_trip(tmp_path):
    apply(tmp_path, CALENDARS)
    feed = Layer.objects.get(kind="ical_url")
    feed.imported_events.create(
        user=User.objects.get(),
        start=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        end=dt.datetime(2026, 1, 6, tzinfo=dt.UTC),
    )
    exported = run("export")

    renamed = apply(tmp_path, CALENDARS.replace("team calendar", "team"))

    assert "ics: |\n" in exported and "handoff_notice: true" in exported
    assert "updated schedule support (layers)" in renamed
    assert Layer.objects.get(kind="ical_url").pk == feed.pk
    assert feed.imported_events.count() == 1  # the stored copy stays until the next refresh
    assert Layer.objects.get(kind="ical_file").calendar_body.startswith("BEGIN:VCALENDAR")
    assert Schedule.objects.get().handoff_notice
    Schedule.objects.all().delete()
    apply(tmp_path, exported)
    assert run("export") == exported


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ('{name: x, calendar: "ftp://example.com/a.ics"}', "layers[0].calendar: must be an http"),
        ("{name: x, ics: not a calendar}", "layers[0].ics: not iCalendar"),
        ('{name: x, calendar: "https://a.example/x.ics", participants: [alice]}', "layers[0]: a"),
    ],
)
def test_calendar_layer_errors_name_their_place(tmp_path, layer, message):
    text = f"users: [{{username: alice}}]\nschedules: [{{name: s, layers: [{layer}]}}]\n"

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text)

    assert f"schedules[0].{message}" in str(raised.value)


def test_apply_reads_standard_input_with_a_dash(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("users: [{username: zoe, name: Zoe Zhang}]\n"))

    out = run("apply", "-")

    assert out.splitlines() == ["created user zoe", "1 created, 0 updated, 0 deleted, 0 unchanged"]
    assert User.objects.get().get_full_name() == "Zoe Zhang"


def test_prune_removes_schedules_policies_and_services_left_out(tmp_path):
    apply(tmp_path, EXAMPLE)
    only_people = EXAMPLE[: EXAMPLE.index("schedules:")]

    out = apply(tmp_path, only_people, "--prune")

    assert out.splitlines()[:3] == [f"unchanged user {u}" for u in ("alice", "bob", "carol")]
    assert {"deleted service payments", "deleted escalation policy default"} <= set(
        out.splitlines()
    )
    assert "deleted schedule primary" in out
    assert not Service.objects.exists() and not Schedule.objects.exists()
    assert not Integration.objects.exists()


def test_new_numbers_get_a_code_and_stay_verified_while_unchanged(
    tmp_path, twilio, django_capture_on_commit_callbacks
):
    text = """
    users:
      - username: erin
        contact_methods:
          - {name: phone, type: sms, address: "+15550100071"}
          - {name: desk, type: sms, address: "+15550100072", verified: true}
    """
    with django_capture_on_commit_callbacks(execute=True):
        apply(tmp_path, text)
    (code,) = twilio.wait_for_messages(1, to="+15550100071", timeout=2)
    ContactMethod.objects.filter(name="phone").update(verified=True)  # erin replied with it

    again = apply(tmp_path, text)
    moved = apply(tmp_path, text.replace("+15550100071", "+15550100073"))

    assert "verification code" in code.body
    assert [m.to for m in twilio.messages] == ["+15550100071"]  # none to the vouched-for desk
    assert "unchanged user erin" in again
    assert "updated user erin (contact_methods)" in moved
    assert dict(ContactMethod.objects.values_list("name", "verified")) == {
        "phone": False,
        "desk": True,
    }
    assert "verified: true" in run("export")


def test_a_problem_in_a_level_names_the_level_one_based(tmp_path):
    text = "escalation_policies: [{name: p, tiers: [{targets: [{user: nobody}]}]}]"

    with pytest.raises(CommandError) as raised:
        apply(tmp_path, text)

    assert 'Level 1: escalation_policies[0].tiers[0].targets[0].user: no user named "nobody"' in (
        str(raised.value)
    )
