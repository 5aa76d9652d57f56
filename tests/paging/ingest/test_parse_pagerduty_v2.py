"""PagerDuty Events API v2 bodies: what an event becomes, and what PagerDuty would refuse.

Pure: no database. Error wording is PagerDuty's where its 400 answers have been seen in the wild.
"""

import copy
import json
from pathlib import Path

import pytest

from paging.ingest.formats import pagerduty_v2
from paging.ingest.formats.base import Event, PayloadError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pagerduty_v2"
KEY = "e93facc04764012d7bfb002500d5d1a6"
BAD_SEVERITY = (
    "'payload.severity' is invalid "
    "(must be one of the following: 'critical', 'warning', 'error' or 'info')"
)
BAD_ACTION = (
    "'event_action' is invalid "
    "(must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def trigger(**fields) -> dict:
    body = {
        "routing_key": KEY,
        "event_action": "trigger",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"},
    }
    return {**body, **fields}


def parse(body: dict | bytes) -> Event:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    (event,) = pagerduty_v2.parse(raw, {}, {})
    return event


def refusal(body: dict) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        parse(body)
    return caught.value


def test_spec_example_maps_every_field():
    body = fixture("spec_trigger")

    event = parse(body)

    assert (event.action, event.summary, event.severity, event.dedup_key) == (
        "trigger",
        "Example alert on host1.example.com",
        "info",
        "samplekeyhere",
    )
    assert event.details == {
        "source": body["payload"]["source"],
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "deploy",
        "timestamp": "2026-11-20T08:42:58.315+0000",
        "custom_details": {"ping time": "1500ms", "load avg": 0.75},
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com",
        "images": [
            {
                "src": "https://chart.example.com/image.png",
                "href": "https://example.com/",
                "alt": "An example link with an image",
            }
        ],
    }
    assert event.links == (
        {"href": "http://pagerduty.example.com", "text": "An example link."},
        {"href": "https://monitoring.example.com", "text": "Sample Monitoring Service"},
    )
    assert event.alerts == ()


def test_alertmanager_receiver_trigger_pages_with_its_group_hash_as_key():
    body = fixture("alertmanager_receiver_trigger")

    event = parse(body)

    assert (event.action, event.severity) == ("trigger", "error")
    assert event.summary == "[FIRING:2] DiskFull (node /var/lib/postgresql warning)"
    assert event.dedup_key == body["dedup_key"] and len(event.dedup_key) == 64
    assert event.details["custom_details"]["num_firing"] == "2"
    assert "instance = db2:9100" in event.details["custom_details"]["firing"]
    assert event.links == (
        {
            "href": "http://alertmanager.example.com:9093/#/alerts?receiver=pagerduty",
            "text": "Alertmanager",
        },
    )


def test_alertmanager_receiver_resolve_names_the_same_key():
    opened = parse(fixture("alertmanager_receiver_trigger"))

    event = parse(fixture("alertmanager_receiver_resolve"))

    assert (event.action, event.dedup_key) == ("resolve", opened.dedup_key)
    assert event.summary.startswith("[RESOLVED] DiskFull")
    assert event.details["custom_details"]["num_resolved"] == "2"


def test_configured_alertmanager_receiver_keeps_class_component_group_images_and_links():
    event = parse(fixture("alertmanager_receiver_configured"))

    assert event.severity == "critical"
    assert {k: event.details[k] for k in ("class", "component", "group", "source")} == {
        "class": "HighErrorRate",
        "component": "checkout",
        "group": "payments",
        "source": "prometheus-eu-west-1",
    }
    assert event.details["custom_details"]["error_ratio"] == {"value": "0.074", "threshold": "0.05"}
    assert event.details["images"][0]["alt"] == "Checkout error ratio"
    assert [link["text"] for link in event.links] == ["Runbook", "Dashboard", "Alertmanager"]


def test_nested_custom_details_are_kept_verbatim_and_untitled_links_show_their_url():
    body = fixture("trigger_with_context")

    event = parse(body)

    assert event.details["custom_details"] == body["payload"]["custom_details"]
    assert event.details["images"] == body["images"]
    logs = body["links"][1]["href"]
    assert event.links[1] == {"href": logs, "text": logs}
    assert event.links[2]["text"] == "Kubernetes Event Watcher"


@pytest.mark.parametrize("name", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_no_payload(name):
    event = parse(fixture(name))

    assert (event.action, event.dedup_key, event.summary) == (name, "samplekeyhere", "")
    assert (event.details, event.links) == ({}, ())


def test_resolve_payload_is_not_validated_since_it_carries_nothing_we_need():
    body = fixture("alertmanager_receiver_resolve")
    body["payload"] = {"summary": ["not", "text"], "severity": "none"}

    event = parse(body)

    assert (event.action, event.summary, event.severity) == ("resolve", "", "critical")


def test_trigger_without_dedup_key_leaves_it_empty_for_the_caller_to_generate():
    assert parse(fixture("trigger_without_dedup_key")).dedup_key == ""


def test_details_hold_only_the_fields_sent():
    assert parse(trigger()).details == {"source": "db1"}


def test_headers_and_options_do_not_change_the_event():
    raw = json.dumps(fixture("spec_trigger")).encode()

    with_extras = pagerduty_v2.parse(raw, {"X-Routing-Key": "other"}, {"grouping": "alert"})

    assert with_extras == pagerduty_v2.parse(raw, {}, {})


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_captured_payload_parses(path):
    raw = path.read_bytes()

    assert parse(raw).action in ("trigger", "acknowledge", "resolve")
    assert pagerduty_v2.routing_key(raw) == json.loads(raw)["routing_key"]


def test_overlong_summary_is_cut_to_1024_characters_not_refused():
    # PagerDuty itself answers 400 "'summary' is too long"; a cut summary still pages.
    payload = {"summary": "  " + "é" * 5000, "source": "s", "severity": "info"}

    event = parse(trigger(payload=payload))

    assert event.summary == "é" * 1024


def test_limits_are_inclusive():
    event = parse(trigger(routing_key="k" * 32, dedup_key="d" * 255))

    assert len(event.dedup_key) == 255


def without(body: dict, *path: str) -> dict:
    body = copy.deepcopy(body)
    parent = body
    for name in path[:-1]:
        parent = parent[name]
    del parent[path[-1]]
    return body


def replaced(body: dict, value, *path: str) -> dict:
    body = copy.deepcopy(body)
    parent = body
    for name in path[:-1]:
        parent = parent[name]
    parent[path[-1]] = value
    return body


VALID = trigger()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (without(VALID, "routing_key"), "routing_key", "'routing_key' is missing or blank"),
        (replaced(VALID, "   ", "routing_key"), "routing_key", "'routing_key' is missing or blank"),
        (replaced(VALID, 12345, "routing_key"), "routing_key", "'routing_key' must be a string"),
        (
            replaced(VALID, KEY[:15], "routing_key"),
            "routing_key",
            "Length of 'routing_key' is incorrect (should be 16 to 64 characters)",
        ),
        (without(VALID, "event_action"), "event_action", "'event_action' is missing or blank"),
        (replaced(VALID, "Trigger", "event_action"), "event_action", BAD_ACTION),
        (replaced(VALID, "escalate", "event_action"), "event_action", BAD_ACTION),
        (replaced(VALID, ["trigger"], "event_action"), "event_action", BAD_ACTION),
        (
            replaced(VALID, "d" * 256, "dedup_key"),
            "dedup_key",
            "Length of 'dedup_key' must be less than or equal to 255",
        ),
        (replaced(VALID, 42, "dedup_key"), "dedup_key", "'dedup_key' must be a string"),
        (without(VALID, "payload"), "payload", "'payload' is missing or not an object"),
        (replaced(VALID, "Disk full", "payload"), "payload", "'payload' is missing or not"),
        (
            without(VALID, "payload", "summary"),
            "payload.summary",
            "'payload.summary' is missing or blank",
        ),
        (
            replaced(VALID, " \n", "payload", "summary"),
            "payload.summary",
            "'payload.summary' is missing or blank",
        ),
        (
            replaced(VALID, {"text": "x"}, "payload", "summary"),
            "payload.summary",
            "'payload.summary' must be a string",
        ),
        (
            without(VALID, "payload", "source"),
            "payload.source",
            "'payload.source' is missing or blank",
        ),
        (
            replaced(VALID, "s" * 1025, "payload", "source"),
            "payload.source",
            "Length of 'payload.source' must be less than or equal to 1024",
        ),
        (
            without(VALID, "payload", "severity"),
            "payload.severity",
            "'payload.severity' is missing or blank",
        ),
        (replaced(VALID, "Critical", "payload", "severity"), "payload.severity", BAD_SEVERITY),
        (replaced(VALID, "none", "payload", "severity"), "payload.severity", BAD_SEVERITY),
        (replaced(VALID, 1, "payload", "severity"), "payload.severity", BAD_SEVERITY),
        (
            replaced(VALID, 5, "payload", "component"),
            "payload.component",
            "'payload.component' must be a string",
        ),
        (
            replaced(VALID, ["a"], "payload", "group"),
            "payload.group",
            "'payload.group' must be a string",
        ),
        (
            replaced(VALID, {}, "payload", "class"),
            "payload.class",
            "'payload.class' must be a string",
        ),
        (
            replaced(VALID, 1763862000, "payload", "timestamp"),
            "payload.timestamp",
            "'payload.timestamp' must be a string",
        ),
        (replaced(VALID, {"href": "x"}, "links"), "links", "'links' must be a list"),
        (replaced(VALID, [{"text": "x"}], "links"), "links[0].href", "'links[0].href' is missing"),
        (
            replaced(VALID, [{"href": "https://a.example"}, "https://b.example"], "links"),
            "links[1].href",
            "'links[1].href' is missing or blank",
        ),
        (replaced(VALID, "https://a.example/i.png", "images"), "images", "'images' must be a list"),
        (
            replaced(VALID, [{"alt": "chart"}], "images"),
            "images[0].src",
            "'images[0].src' is missing or blank",
        ),
        (replaced(VALID, 7, "client"), "client", "'client' must be a string"),
        (replaced(VALID, ["u"], "client_url"), "client_url", "'client_url' must be a string"),
    ],
)
def test_each_problem_is_named(body, field, message):
    error = refusal(body)

    assert error.field == field
    assert error.message.startswith(message)
    assert len(error.errors) == 1 and error.errors[0].startswith(message)


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("dedup_key", [None, "", "   "])
def test_acknowledge_and_resolve_need_a_dedup_key(action, dedup_key):
    body = {"routing_key": KEY, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key

    assert refusal(body).errors == [f"'dedup_key' is required to {action}"]


def test_every_problem_is_reported_at_once_and_the_first_names_the_error():
    body = {
        "routing_key": "short",
        "event_action": "trigger",
        "dedup_key": "k" * 256,
        "payload": {"summary": "", "severity": "apocalyptic", "component": 3},
        "links": [{"text": "no href"}],
        "images": [{}],
    }

    error = refusal(body)

    assert (error.field, error.message) == (
        "routing_key",
        "Length of 'routing_key' is incorrect (should be 16 to 64 characters)",
    )
    assert error.errors == [
        "Length of 'routing_key' is incorrect (should be 16 to 64 characters)",
        "Length of 'dedup_key' must be less than or equal to 255",
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        BAD_SEVERITY,
        "'payload.component' must be a string",
        "'links[0].href' is missing or blank",
        "'images[0].src' is missing or blank",
    ]


def test_an_empty_object_lists_what_any_event_needs():
    assert refusal({}).errors == [
        "'routing_key' is missing or blank",
        "'event_action' is missing or blank",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"{not json", "body"),
        (b"[]", "body"),
        (b'"trigger"', "body"),
        (b"\xff\xfe{}", "body"),
        (b'{"routing_key": NaN}', "body"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(body, field):
    with pytest.raises(PayloadError) as caught:
        pagerduty_v2.parse(body, {}, {})

    assert caught.value.field == field


def test_only_web_links_are_kept():
    body = trigger(
        links=[
            {"href": "javascript:alert(1)", "text": "click"},
            {"href": " https://ok.example/a ", "text": "   "},
            {"href": "data:text/html,hi"},
        ],
        client="Cron",
        client_url="ftp://files.example",
    )

    event = parse(body)

    assert event.links == ({"href": "https://ok.example/a", "text": "https://ok.example/a"},)
    assert event.details["client_url"] == "ftp://files.example"  # still visible as a detail


def test_client_url_without_a_client_name_is_titled_with_itself():
    event = parse(trigger(client_url="https://monitor.example/checks/42"))

    assert event.links == (
        {"href": "https://monitor.example/checks/42", "text": "https://monitor.example/checks/42"},
    )


def test_routing_key_is_read_from_any_json_object():
    assert pagerduty_v2.routing_key(json.dumps(fixture("resolve")).encode()) == KEY
    # Even from an event that will be refused: the view needs it to find the integration.
    assert pagerduty_v2.routing_key(b'{"routing_key": "short", "event_action": "?"}') == "short"


def test_routing_key_is_decoded_as_parse_decodes_it():
    # An escaped NUL becomes U+FFFD in parse(); the key lookup must not see a raw NUL, which
    # PostgreSQL refuses in a query parameter.
    body = json.dumps({"routing_key": "\x00" + KEY[1:]}).encode()

    assert pagerduty_v2.routing_key(body) == "\ufffd" + KEY[1:]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b'[{"routing_key": "x"}]',
        b'{"routing_key": 5}',
        b'{"routing_key": null}',
        b'{"event_action": "trigger"}',
        b"\xff\xfe",
        b"[" * 100_000,
        b'{"routing_key": "x", "n": NaN}',
    ],
)
def test_routing_key_is_none_without_a_string_one_in_a_json_object(body):
    assert pagerduty_v2.routing_key(body) is None
