"""The Alertmanager parser against captured notifications, malformed ones and generated ones."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paging.ingest.formats import alertmanager
from paging.ingest.formats.base import ACTIONS, SEVERITIES, PayloadError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alertmanager"
SAMPLES = sorted(p.name for p in FIXTURES.glob("*.json"))
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UTC = dt.UTC


def sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def parse(body: dict | bytes, grouping: str = "group"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return alertmanager.parse(raw, {}, {"grouping": grouping})


def one_alert(**alert) -> dict:
    """Return a minimal notification with one alert built from `alert`."""
    base = {
        "status": "firing",
        "labels": {"alertname": "DiskFull"},
        "annotations": {},
        "startsAt": "2026-11-20T09:58:14Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "aaaa000011112222",
    }
    return {"status": "firing", "groupKey": "{}:{}", "alerts": [base | alert]}


# --- groups ------------------------------------------------------------------------------------


def test_firing_group_is_one_trigger_keyed_by_group_key_carrying_every_alert():
    (event,) = parse(sample("firing_group.json"))

    assert event.action == "trigger"
    assert event.dedup_key == '{}/{severity=~"critical|page"}:{alertname="DiskFull"}'
    assert event.summary == "[FIRING:3] DiskFull (node)"
    assert event.severity == "critical"
    assert [a.fingerprint for a in event.alerts] == [
        "8c3a9e2f1b7d4c60",
        "0f1e2d3c4b5a6978",
        "1234abcd5678ef90",
    ]
    assert event.links == (
        {"href": "http://alertmanager.example.com:9093", "text": "Alertmanager"},
    )
    assert event.details == {
        "receiver": "oncall",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "job": "node"},
        "externalURL": "http://alertmanager.example.com:9093",
        "truncatedAlerts": 0,
    }


def test_each_alert_record_carries_what_a_responder_needs():
    (event,) = parse(sample("firing_group.json"))
    first = event.alerts[0]

    assert (first.status, first.summary, first.severity) == (
        "firing",
        "Disk full on db1",
        "critical",
    )
    assert first.labels["instance"] == "db1:9100"
    assert first.annotations == {"summary": "Disk full on db1", "description": "/var is 97% full"}
    assert first.starts_at == dt.datetime(2026, 11, 20, 9, 58, 14, 731000, tzinfo=UTC)
    assert first.ends_at is None  # Go's zero time while firing
    assert [link["text"] for link in first.links] == ["Source"]
    assert first.links[0]["href"].startswith("http://prometheus.example.com:9090/graph?")


def test_partly_resolved_group_still_triggers_under_its_one_firing_alerts_summary():
    (event,) = parse(sample("partly_resolved.json"))

    assert (event.action, event.summary, event.severity) == (
        "trigger",
        "Disk full on db1",
        "critical",
    )
    firing, resolved = event.alerts
    assert firing.ends_at is None
    assert (resolved.status, resolved.ends_at) == (
        "resolved",
        dt.datetime(2026, 11, 20, 10, 12, 44, 731000, tzinfo=UTC),
    )


def test_fully_resolved_group_resolves():
    (event,) = parse(sample("resolved_group.json"))

    assert event.action == "resolve"
    assert event.summary == "[RESOLVED:2] DiskFull (node)"
    assert {a.status for a in event.alerts} == {"resolved"}


def test_group_severity_is_the_worst_of_the_firing_alerts_only():
    body = sample("partly_resolved.json")
    body["alerts"][0]["labels"]["severity"] = "warning"
    body["alerts"][1]["labels"]["severity"] = "critical"  # resolved: no longer counts

    (event,) = parse(body)

    assert event.severity == "warning"


def test_resolved_status_with_an_alert_still_firing_keeps_paging():
    body = sample("partly_resolved.json")
    body["status"] = "resolved"

    assert parse(body)[0].action == "trigger"


def test_firing_status_whose_visible_alerts_are_all_resolved_still_triggers():
    # truncatedAlerts: the firing ones may be among those left out.
    body = sample("resolved_group.json")
    body.update(status="firing", truncatedAlerts=5)

    assert parse(body)[0].action == "trigger"


@pytest.mark.parametrize(
    ("group", "common", "title"),
    [
        ({"alertname": "DiskFull"}, {"alertname": "DiskFull", "job": "node"}, "DiskFull (node)"),
        # Grouped by cluster: the shared alert name still leads.
        (
            {"cluster": "prod"},
            {"alertname": "DiskFull", "cluster": "prod", "job": "node", "severity": "page"},
            "DiskFull prod (node)",
        ),
        ({}, {"team": "blue"}, "alerts (blue)"),
        ({}, {}, "alerts"),
    ],
)
def test_group_title_reads_like_alertmanagers(group, common, title):
    body = sample("firing_group.json")
    body.update(groupLabels=group, commonLabels=common)

    assert parse(body)[0].summary == f"[FIRING:3] {title}"


def test_very_long_group_key_becomes_a_stable_digest():
    body = sample("firing_group.json")
    body["groupKey"] = "{}:" + "x" * 1000

    (first,), (second,) = parse(body), parse(body)

    expected = "am:" + hashlib.sha256(body["groupKey"].encode()).hexdigest()
    assert first.dedup_key == second.dedup_key == expected


# --- one incident per alert --------------------------------------------------------------------


def test_alert_grouping_gives_one_event_per_fingerprint_with_its_own_action():
    events = parse(sample("partly_resolved.json"), grouping="alert")

    assert [(e.dedup_key, e.action, e.severity) for e in events] == [
        ("8c3a9e2f1b7d4c60", "trigger", "critical"),
        ("0f1e2d3c4b5a6978", "resolve", "warning"),
    ]
    assert [e.summary for e in events] == ["Disk full on db1", "/var is 91% full on db2"]
    assert all(len(e.alerts) == 1 and e.alerts[0].fingerprint == e.dedup_key for e in events)
    assert [link["text"] for link in events[0].links] == ["Source", "Alertmanager"]


def test_alert_grouping_needs_no_group_key():
    body = sample("firing_group.json")
    del body["groupKey"]

    assert len(parse(body, grouping="alert")) == 3


@pytest.mark.parametrize("grouping", ["group", "alert"])
def test_a_fingerprint_repeated_in_one_payload_keeps_only_the_last(grouping):
    body = sample("firing_group.json")
    body["alerts"].append({**body["alerts"][0], "annotations": {"summary": "newer"}})

    events = parse(body, grouping=grouping)

    records = [a for e in events for a in e.alerts]
    assert len(records) == 3
    assert [a.summary for a in records if a.fingerprint == "8c3a9e2f1b7d4c60"] == ["newer"]


def test_alerts_without_fingerprint_get_a_stable_one_from_their_labels():
    (event,) = parse(sample("old_version_no_fingerprint.json"))
    reordered = sample("old_version_no_fingerprint.json")
    for alert in reordered["alerts"]:
        alert["labels"] = dict(reversed(alert["labels"].items()))

    fingerprints = [a.fingerprint for a in event.alerts]
    assert fingerprints == [a.fingerprint for a in parse(reordered)[0].alerts]
    assert len(set(fingerprints)) == 2
    assert all(len(f) == 16 and int(f, 16) >= 0 for f in fingerprints)
    assert event.severity == "error"  # "major"; "minor" is a warning


# --- summaries, severities, times, links -------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "annotations", "summary"),
    [
        ({"alertname": "A"}, {"summary": " S ", "description": "D"}, "S"),
        ({"alertname": "A"}, {"summary": "  ", "description": "D"}, "D"),
        ({"alertname": "A"}, {}, "A"),
        ({}, {}, "Alertmanager alert"),
        ({"alertname": "A"}, {"summary": "é" * 2000}, "é" * 1024),
    ],
)
def test_alert_summary_falls_back_from_summary_to_description_to_name(labels, annotations, summary):
    (event,) = parse(one_alert(labels=labels, annotations=annotations))

    assert event.summary == event.alerts[0].summary == summary


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        *[(w, "critical") for w in ("critical", "crit", "page", "P1", "high", " Critical ")],
        *[(w, "error") for w in ("error", "err", "major")],
        *[(w, "warning") for w in ("warning", "warn", "minor", "medium")],
        *[(w, "info") for w in ("info", "informational", "low", "none", "ok")],
        ("banana", "critical"),
        ("", "critical"),
        (None, "critical"),
    ],
)
def test_severity_label_maps_onto_ours_and_pages_as_critical_when_unknown(label, severity):
    labels = {"alertname": "A"} | ({"severity": label} if label is not None else {})

    (event,) = parse(one_alert(labels=labels))

    assert event.severity == event.alerts[0].severity == severity


def test_missing_severity_pages_as_critical_and_offsets_convert_to_utc():
    (event,) = parse(sample("no_severity_nanoseconds.json"))

    (alert,) = event.alerts
    assert (event.severity, alert.severity) == ("critical", "critical")
    # 09:58:14.123456789+01:00, nanoseconds cut to microseconds.
    assert alert.starts_at == dt.datetime(2026, 11, 20, 8, 58, 14, 123456, tzinfo=UTC)


def test_single_resolved_alert_with_nanosecond_times():
    (event,) = parse(sample("single_alert_nanoseconds_utc.json"))

    (alert,) = event.alerts
    assert (event.action, event.summary, event.severity) == (
        "resolve",
        "Pod is crash looping.",
        "info",
    )
    assert alert.starts_at == dt.datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=UTC)
    assert alert.ends_at == dt.datetime(2026, 11, 20, 8, 15, 30, 987654, tzinfo=UTC)
    assert event.details["commonAnnotations"]["runbook_url"].startswith("https://runbooks.")


def test_a_firing_alerts_future_ends_at_is_not_an_end():
    # Alertmanager passes on the resolve timeout Prometheus set while the alert fires.
    (event,) = parse(one_alert(endsAt="2026-11-20T10:02:14.731Z"))

    assert event.alerts[0].ends_at is None


def test_unknown_fields_are_ignored():
    (event,) = parse(sample("newer_version_extra_fields.json"))

    assert (event.summary, event.severity) == ("p99 latency above 2s", "critical")
    assert "someFutureField" not in event.details
    assert event.details["truncatedAlerts"] == 3


def test_only_http_links_are_kept():
    body = one_alert(generatorURL="javascript:alert(1)")
    body["externalURL"] = "ftp://alertmanager"

    (event,) = parse(body)

    assert event.links == () and event.alerts[0].links == ()


# --- malformed payloads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("alerts"), "alerts"),
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b.update(alerts={"0": {}}), "alerts"),
        (lambda b: b["alerts"].__setitem__(1, None), "alerts[1]"),
        (lambda b: b["alerts"][1].update(status="sleeping"), "alerts[1].status"),
        (lambda b: b["alerts"][2].pop("status"), "alerts[2].status"),
        (lambda b: b["alerts"][0].update(labels=["a"]), "alerts[0].labels"),
        (lambda b: b["alerts"][0]["labels"].update(severity=3), "alerts[0].labels.severity"),
        (lambda b: b["alerts"][1].update(annotations="x"), "alerts[1].annotations"),
        (lambda b: b["alerts"][0].update(startsAt="2026-13-45T00:00:00Z"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][2].update(startsAt="yesterday"), "alerts[2].startsAt"),
        (lambda b: b["alerts"][2].update(startsAt="2026-11-20"), "alerts[2].startsAt"),
        (
            lambda b: b["alerts"][0].update(startsAt="0001-01-01T00:30:00+01:00"),
            "alerts[0].startsAt",
        ),
        (lambda b: b["alerts"][0].update(startsAt="٢٠٢٦-11-20T09:58:14Z"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][2].update(endsAt=12), "alerts[2].endsAt"),
        (lambda b: b["alerts"][0].update(generatorURL=7), "alerts[0].generatorURL"),
        (lambda b: b.pop("groupKey"), "groupKey"),
        (lambda b: b.update(groupKey=""), "groupKey"),
        (lambda b: b.update(groupLabels=["alertname"]), "groupLabels"),
        (lambda b: b.update(commonLabels={"job": None}), "commonLabels.job"),
        (lambda b: b.update(externalURL=False), "externalURL"),
    ],
)
def test_malformed_payload_names_the_field(change, field):
    body = sample("firing_group.json")
    change(body)

    with pytest.raises(PayloadError) as error:
        parse(body)
    assert error.value.field == field


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe{}",
        b"[]",
        b'"alerts"',
        b'{"alerts": [{"status": "firing", "x": NaN}], "groupKey": "k"}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_as_the_body(raw):
    with pytest.raises(PayloadError) as error:
        parse(raw)
    assert error.value.field == "body"


# --- generated input ---------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
nasty = st.sampled_from(
    [
        *("", " ", "\x00", "é" * 3000, "🚨" * 600, "x" * 70_000, "resolved", "firing"),
        *("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "2026-11-20T09:58:14.1234567890Z"),
    ]
)
json_values = st.recursive(
    scalars | nasty,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def check(raw: bytes, grouping: str = "group") -> None:
    """Parse `raw`: sound events or a PayloadError, and nothing else."""
    try:
        events = alertmanager.parse(raw, {}, {"grouping": grouping})
    except PayloadError as error:
        assert error.field
        return
    assert events
    for event in events:
        assert event.action in ACTIONS and event.severity in SEVERITIES
        assert 0 < len(event.dedup_key) <= 255 and len(event.summary) <= 1024
        for alert in event.alerts:
            assert alert.status in ("firing", "resolved") and alert.severity in SEVERITIES
            assert len(alert.summary) <= 1024 and 0 < len(alert.fingerprint) <= 255
            for moment in (alert.starts_at, alert.ends_at):
                assert moment is None or moment.utcoffset() == dt.timedelta(0)


def nodes(value, parent=None, key=None):
    """Yield (parent, key) for every node of a JSON value, the root as (None, None)."""
    yield parent, key
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for k, child in children:
        yield from nodes(child, value, k)


DELETE = object()


def mutated(body: dict, where: int, replacement) -> dict:
    """Replace one node of `body` (or delete it, from an object) chosen by `where`."""
    every = list(nodes(body))
    parent, key = every[where % len(every)]
    if parent is None:
        return None if replacement is DELETE else replacement
    if replacement is DELETE and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = None if replacement is DELETE else replacement
    return body


@FUZZ
@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_parser(raw):
    check(raw)


@FUZZ
@given(value=json_values, grouping=st.sampled_from(["group", "alert"]))
def test_arbitrary_json_never_crashes_the_parser(value, grouping):
    check(json.dumps(value).encode(), grouping)


@FUZZ
@given(
    name=st.sampled_from(SAMPLES),
    where=st.integers(min_value=0),
    replacement=json_values | st.just(DELETE),
    grouping=st.sampled_from(["group", "alert"]),
)
def test_mutated_captured_payloads_never_crash_the_parser(name, where, replacement, grouping):
    check(json.dumps(mutated(sample(name), where, replacement)).encode(), grouping)


@FUZZ
@given(name=st.sampled_from(SAMPLES), cut=st.integers(min_value=0))
def test_truncated_captured_payloads_are_refused_as_the_body(name, cut):
    raw = (FIXTURES / name).read_bytes().strip()
    with pytest.raises(PayloadError) as error:
        alertmanager.parse(raw[: cut % len(raw)], {}, {})
    assert error.value.field == "body"


@FUZZ
@given(
    moment=st.datetimes(
        min_value=dt.datetime(1000, 1, 1),
        max_value=dt.datetime(9000, 1, 1),
        # Whole minutes: RFC 3339 offsets have no seconds, unlike some historic zones.
        timezones=st.integers(-1439, 1439).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
    ),
    nanos=st.integers(min_value=0, max_value=999),
)
def test_any_go_timestamp_parses_to_the_same_instant_in_utc(moment, nanos):
    offset = moment.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{nanos:03d}" + offset

    (event,) = parse(one_alert(startsAt=stamp))

    assert event.alerts[0].starts_at == moment
    assert event.alerts[0].starts_at.tzinfo is UTC
