"""Every format's parser against real-shaped captured payloads: what it makes of each."""

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from paging.ingest.formats import PARSERS, PayloadError, SignatureError, pagerduty_v2

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(kind: str, body: bytes | dict, options=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return PARSERS[kind](raw, headers or {}, options or {"grouping": "group"})


@pytest.mark.parametrize("path", sorted(p.relative_to(FIXTURES) for p in FIXTURES.glob("*/*.json")))
def test_every_captured_payload_parses(path):
    events = parse(path.parts[0], fixture(str(path)))

    assert events
    for event in events:
        assert event.action in ("trigger", "acknowledge", "resolve")


def test_alertmanager_group_is_one_event_keyed_by_group_with_every_alert():
    (event,) = parse("alertmanager", fixture("alertmanager/firing_group.json"))

    assert event.action == "trigger"
    assert event.dedup_key == '{}/{severity=~"critical|page"}:{alertname="DiskFull"}'
    assert event.summary == "[FIRING:3] DiskFull (node)"
    assert event.severity == "critical"
    assert [a.summary for a in event.alerts] == [
        "Disk full on db1",
        "/var is 91% full on db2",
        "DiskFull",
    ]
    assert [a.severity for a in event.alerts] == ["critical", "warning", "critical"]
    first = event.alerts[0]
    assert first.ends_at is None  # firing: Go's zero time
    assert first.starts_at == dt.datetime(2026, 11, 20, 9, 58, 14, 731000, tzinfo=dt.UTC)
    assert first.links[0]["text"] == "Source"
    assert first.raw["fingerprint"] == "8c3a9e2f1b7d4c60"
    assert event.details["externalURL"] == "http://alertmanager.example.com:9093"


def test_alertmanager_partly_resolved_group_still_triggers_and_marks_the_alert():
    (event,) = parse("alertmanager", fixture("alertmanager/partly_resolved.json"))

    assert event.action == "trigger"
    assert event.summary == "Disk full on db1"  # one firing alert: its own summary
    resolved = event.alerts[1]
    assert (resolved.status, resolved.ends_at) == (
        "resolved",
        dt.datetime(2026, 11, 20, 10, 12, 44, 731000, tzinfo=dt.UTC),
    )


def test_alertmanager_resolved_group_resolves():
    (event,) = parse("alertmanager", fixture("alertmanager/resolved_group.json"))

    assert event.action == "resolve"
    assert event.summary.startswith("[RESOLVED:2] DiskFull")


def test_alertmanager_missing_severity_pages_as_critical_and_nanoseconds_parse():
    (event,) = parse("alertmanager", fixture("alertmanager/no_severity_nanoseconds.json"))

    (alert,) = event.alerts
    assert alert.severity == "critical"
    assert alert.starts_at == dt.datetime(2026, 11, 20, 8, 58, 14, 123456, tzinfo=dt.UTC)


def test_alertmanager_unknown_fields_are_ignored_and_page_severity_is_critical():
    (event,) = parse("alertmanager", fixture("alertmanager/newer_version_extra_fields.json"))

    assert event.severity == "critical"
    assert event.details["truncatedAlerts"] == 3


def test_alertmanager_per_alert_grouping_keys_each_alert_by_fingerprint():
    events = parse(
        "alertmanager", fixture("alertmanager/partly_resolved.json"), {"grouping": "alert"}
    )

    assert [(e.dedup_key, e.action) for e in events] == [
        ("8c3a9e2f1b7d4c60", "trigger"),
        ("0f1e2d3c4b5a6978", "resolve"),
    ]


def test_alertmanager_repeated_fingerprint_in_one_payload_keeps_the_last():
    body = json.loads(fixture("alertmanager/firing_group.json"))
    body["alerts"].append({**body["alerts"][0], "annotations": {"summary": "newer"}})

    (event,) = parse("alertmanager", body)

    assert [a.summary for a in event.alerts].count("newer") == 1
    assert len(event.alerts) == 3


def test_alertmanager_alert_without_fingerprint_gets_a_stable_one_from_its_labels():
    body = json.loads(fixture("alertmanager/firing_group.json"))
    for alert in body["alerts"]:
        del alert["fingerprint"]

    first, second = parse("alertmanager", body), parse("alertmanager", body)

    fingerprints = [a.fingerprint for a in first[0].alerts]
    assert fingerprints == [a.fingerprint for a in second[0].alerts]
    assert len(set(fingerprints)) == 3


def test_alertmanager_very_long_group_key_is_digested_to_fit():
    body = json.loads(fixture("alertmanager/firing_group.json"))
    body["groupKey"] = "{}:" + "x" * 1000

    (event,) = parse("alertmanager", body)

    assert event.dedup_key.startswith("am:") and len(event.dedup_key) <= 255


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("alerts"), "alerts"),
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b.update(alerts=["x"]), "alerts[0]"),
        (lambda b: b["alerts"][1].update(status="sleeping"), "alerts[1].status"),
        (lambda b: b["alerts"][0].update(labels=["a"]), "alerts[0].labels"),
        (lambda b: b["alerts"][0]["labels"].update(severity=3), "alerts[0].labels.severity"),
        (lambda b: b["alerts"][0].update(startsAt="2026-13-45T00:00:00Z"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][2].update(endsAt=12), "alerts[2].endsAt"),
        (lambda b: b.pop("groupKey"), "groupKey"),
    ],
)
def test_alertmanager_malformed_payload_names_the_field(change, field):
    body = json.loads(fixture("alertmanager/firing_group.json"))
    change(body)

    with pytest.raises(PayloadError) as error:
        parse("alertmanager", body)
    assert error.value.field == field


def test_grafana_uses_its_title_and_keeps_dashboard_links_and_values():
    (event,) = parse("grafana", fixture("grafana/firing.json"))

    assert event.summary == "[FIRING:1] HighLatency Production (payments)"
    assert event.details["orgId"] == 1
    (alert,) = event.alerts
    assert [link["text"] for link in alert.links] == ["Source", "Dashboard", "Panel", "Silence"]
    assert alert.raw["values"] == {"B": 2.31, "C": 1}


def test_grafana_resolved_resolves_and_per_alert_grouping_works():
    (event,) = parse("grafana", fixture("grafana/resolved.json"))
    assert event.action == "resolve"

    events = parse("grafana", fixture("grafana/two_alerts_no_summary.json"), {"grouping": "alert"})
    assert [e.severity for e in events] == ["warning", "critical"]
    assert [e.summary for e in events] == ["HighLatency", "HighLatency"]


def signed(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_grafana_signature_checked_only_when_a_secret_is_set():
    body = fixture("grafana/firing.json")
    options = {"hmac_secret": "s3cret", "hmac_header": "X-Grafana-Alerting-Signature"}

    assert parse("grafana", body, options, {"x-grafana-alerting-signature": signed(body, "s3cret")})
    with pytest.raises(SignatureError, match="missing"):
        parse("grafana", body, options, {})
    with pytest.raises(SignatureError, match="does not match"):
        parse("grafana", body, options, {"X-Grafana-Alerting-Signature": signed(body, "other")})
    with pytest.raises(SignatureError):  # a tampered body
        parse(
            "grafana",
            body + b" ",
            options,
            {"X-Grafana-Alerting-Signature": signed(body, "s3cret")},
        )
    assert parse("grafana", body, {}, {})  # no secret: nothing to check


def test_pagerduty_spec_example_maps_every_field():
    (event,) = parse("pagerduty_v2", fixture("pagerduty_v2/spec_trigger.json"))

    assert (event.action, event.summary, event.severity, event.dedup_key) == (
        "trigger",
        "Example alert on host1.example.com",
        "info",
        "samplekeyhere",
    )
    assert event.details["component"] == "postgres"
    assert event.details["custom_details"] == {"ping time": "1500ms", "load avg": 0.75}
    assert event.details["images"][0]["src"] == "https://chart.example.com/image.png"
    assert event.links == (
        {"href": "http://pagerduty.example.com", "text": "An example link."},
        {"href": "https://monitoring.example.com", "text": "Sample Monitoring Service"},
    )


def test_pagerduty_acknowledge_and_resolve_need_no_payload():
    assert (
        parse("pagerduty_v2", fixture("pagerduty_v2/acknowledge.json"))[0].action == "acknowledge"
    )
    assert parse("pagerduty_v2", fixture("pagerduty_v2/resolve.json"))[0].action == "resolve"


def test_pagerduty_reports_every_problem_at_once():
    body = {"routing_key": "short", "event_action": "trigger", "payload": {"severity": "bad"}}
    body["dedup_key"] = "k" * 256

    with pytest.raises(PayloadError) as error:
        parse("pagerduty_v2", body)

    assert error.value.errors == [
        "Length of 'routing_key' is incorrect (should be 16 to 64 characters)",
        "Length of 'dedup_key' must be less than or equal to 255",
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of the following: "
        "'critical', 'warning', 'error' or 'info')",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"event_action": "trigger"}, "'routing_key' is missing or blank"),
        ({"routing_key": "k" * 32, "event_action": "explode"}, "'event_action' is invalid"),
        ({"routing_key": "k" * 32, "event_action": "resolve"}, "'dedup_key' is required"),
        ({"routing_key": "k" * 32, "event_action": "trigger"}, "'payload' is missing"),
        (
            {"routing_key": "k" * 32, "event_action": "resolve", "dedup_key": "d", "links": [{}]},
            "'links[0].href' is missing",
        ),
    ],
)
def test_pagerduty_single_problems(body, problem):
    with pytest.raises(PayloadError) as error:
        parse("pagerduty_v2", body)
    assert any(e.startswith(problem) for e in error.value.errors)


def test_pagerduty_overlong_summary_is_cut_not_refused():
    body = json.loads(fixture("pagerduty_v2/spec_trigger.json"))
    body["payload"]["summary"] = "s" * 5000

    (event,) = parse("pagerduty_v2", body)

    assert len(event.summary) == 1024


def test_pagerduty_routing_key_is_found_only_in_a_json_object():
    assert (
        pagerduty_v2.routing_key(fixture("pagerduty_v2/resolve.json"))
        == "e93facc04764012d7bfb002500d5d1a6"
    )
    for body in (b"{not json", b"[1]", b'{"routing_key": 5}', b"\xff\xfe"):
        assert pagerduty_v2.routing_key(body) is None
