"""Generated input for the generic and PagerDuty parsers: sound events or PayloadError, only.

Any other exception would be a 500, which senders retry forever while nobody is paged. Besides
random bytes and JSON, the captured payloads are mutated one field at a time, since nearly-valid
bodies are what reach the code past the first checks.
"""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paging.ingest.formats import generic, pagerduty_v2
from paging.ingest.formats.base import ACTIONS, SEVERITIES, Event, PayloadError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PARSERS = {"generic": generic.parse, "pagerduty_v2": pagerduty_v2.parse}
KINDS = sorted(PARSERS)
CAPTURED = {
    kind: [json.loads(path.read_text()) for path in sorted((FIXTURES / kind).glob("*.json"))]
    for kind in KINDS
}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DELETE = object()  # a replacement meaning "remove this key"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
nasty_text = st.sampled_from(
    [
        "",
        "   ",
        "\x00",
        "\u202e\u200b",
        "🚨" * 700,
        "x" * 1025,
        "k" * 256,
        "javascript:alert(1)",
        "https://example.com/" + "a" * 9000,
        "Critical",
        "trigger ",
        "e93facc04764012d7bfb002500d5d1a6",
    ]
)
plausible = st.sampled_from([*ACTIONS, *SEVERITIES, "https://example.com/x", "Alertmanager"])
# Blank strings get their own strategy: they pass "is it present?" checks that forget to strip.
blank = st.sampled_from(["", " ", "\t\n ", "\u3000"])
json_values = st.recursive(
    scalars | nasty_text | plausible,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def check(kind: str, body: bytes, options: dict | None = None) -> None:
    """Assert the parser either refuses `body` properly or returns sound events."""
    try:
        events = PARSERS[kind](body, {}, options or {})
    except PayloadError as error:
        assert isinstance(error.field, str) and error.field
        assert error.errors and all(isinstance(e, str) and e for e in error.errors)
        return
    # One event per body, except Alertmanager-shaped bodies grouped per alert.
    assert len(events) == 1 or (events and (options or {}).get("grouping") == "alert")
    for event in events:
        check_event(event)


def check_event(event: Event) -> None:
    assert event.action in ACTIONS
    assert event.severity in SEVERITIES
    assert isinstance(event.summary, str) and len(event.summary) <= 1024
    assert isinstance(event.dedup_key, str) and len(event.dedup_key) <= 255
    if event.action == "trigger":
        assert event.summary.strip(), "a trigger without a summary pages with nothing to read"
    else:
        assert event.dedup_key.strip(), "an acknowledge or resolve must name its incident"
    assert isinstance(event.details, dict)
    json.dumps(event.details, allow_nan=False)  # stored as jsonb
    for link in event.links:
        assert set(link) == {"href", "text"}
        assert all(isinstance(v, str) and v for v in link.values())
    for alert in event.alerts:
        assert alert.status in ("firing", "resolved")
        assert len(alert.summary) <= 1024 and 0 < len(alert.fingerprint) <= 255
        for moment in (alert.starts_at, alert.ends_at):
            assert moment is None or moment.utcoffset() is not None


def nodes(value, parent=None, key=None):
    """Yield (parent, key) for every node of a decoded JSON value, the root as (None, None)."""
    yield parent, key
    if isinstance(value, dict | list):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for child_key, child in list(children):
            yield from nodes(child, value, child_key)


def mutated(value, where: int, replacement):
    """Return `value` with one node, picked by `where`, replaced (or its key deleted)."""
    value = json.loads(json.dumps(value))  # a deep copy the mutation cannot leak out of
    found = list(nodes(value))
    parent, key = found[where % len(found)]
    if parent is None:
        return value if replacement is DELETE else replacement
    if replacement is DELETE:
        if isinstance(parent, dict):
            del parent[key]
        else:
            parent.pop(key)
    else:
        parent[key] = replacement
    return value


@FUZZ
@given(kind=st.sampled_from(KINDS), body=st.binary(max_size=400))
def test_arbitrary_bytes(kind, body):
    check(kind, body)


@FUZZ
@given(kind=st.sampled_from(KINDS), value=json_values)
def test_arbitrary_json(kind, value):
    check(kind, json.dumps(value).encode())


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    sample=st.integers(min_value=0),
    where=st.lists(st.integers(min_value=0), min_size=1, max_size=3),
    replacements=st.lists(json_values | st.just(DELETE), min_size=3, max_size=3),
    grouping=st.sampled_from(["group", "alert"]),
)
def test_mutated_captured_payloads(kind, sample, where, replacements, grouping):
    samples = CAPTURED[kind]
    value = samples[sample % len(samples)]
    for spot, replacement in zip(where, replacements, strict=False):
        value = mutated(value, spot, replacement)
    check(kind, json.dumps(value, ensure_ascii=False).encode(), {"grouping": grouping})


@FUZZ
@given(kind=st.sampled_from(KINDS), sample=st.integers(min_value=0), cut=st.integers(min_value=0))
def test_truncated_captured_payloads(kind, sample, cut):
    samples = CAPTURED[kind]
    raw = json.dumps(samples[sample % len(samples)], ensure_ascii=False).encode()
    check(kind, raw[: cut % len(raw)])


pagerduty_events = st.fixed_dictionaries(
    {"routing_key": st.just("e93facc04764012d7bfb002500d5d1a6") | json_values},
    optional={
        "event_action": st.sampled_from(ACTIONS) | json_values,
        "dedup_key": blank | st.text(max_size=300) | json_values,
        "payload": st.fixed_dictionaries(
            {},
            optional={
                "summary": blank | st.text(max_size=1100) | json_values,
                "source": st.text(max_size=20) | json_values,
                "severity": st.sampled_from(SEVERITIES) | json_values,
                "component": st.text(max_size=10) | json_values,
                "custom_details": json_values,
            },
        )
        | json_values,
        "links": st.lists(
            st.fixed_dictionaries(
                {}, optional={"href": blank | json_values, "text": st.none() | json_values}
            )
        )
        | json_values,
        "images": st.lists(st.fixed_dictionaries({}, optional={"src": json_values})),
        "client": json_values,
        "client_url": st.just("https://monitoring.example.com") | json_values,
    },
)


@FUZZ
@given(body=pagerduty_events)
def test_pagerduty_events_built_field_by_field(body):
    check("pagerduty_v2", json.dumps(body).encode())


@FUZZ
@given(body=pagerduty_events)
def test_pagerduty_routing_key_never_raises(body):
    raw = json.dumps(body).encode()

    key = pagerduty_v2.routing_key(raw)

    sent = body["routing_key"]
    # A NUL is read as U+FFFD, as in the rest of a body: PostgreSQL cannot compare with it.
    assert key == (sent.replace("\x00", "\ufffd") if isinstance(sent, str) else None)


generic_events = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from([*ACTIONS, "RESOLVE", "Trigger"]) | json_values,
        "summary": blank | st.text(max_size=1100) | json_values,
        "severity": st.sampled_from([*SEVERITIES, "WARNING"]) | json_values,
        "dedup_key": blank | st.text(max_size=300) | json_values,
        "details": json_values,
        "links": st.lists(
            st.fixed_dictionaries(
                {}, optional={"href": blank | json_values, "text": st.none() | json_values}
            )
        )
        | json_values,
    },
)


@FUZZ
@given(body=generic_events)
def test_generic_events_built_field_by_field(body):
    check("generic", json.dumps(body).encode())
