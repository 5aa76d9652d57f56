"""Malformed input, generated: every parser returns sound events or raises PayloadError.

Anything else (a TypeError, a KeyError) would be a 500, which Alertmanager and Grafana retry
forever and which stores nothing the responder can see.
"""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paging.integrations import PARSERS, PayloadError, SignatureError
from paging.integrations.base import ACTIONS, SEVERITIES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KINDS = sorted(PARSERS)
SAMPLES = {
    kind: [json.loads(p.read_text()) for p in (FIXTURES / kind).glob("*.json")] for kind in KINDS
}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
nasty_text = st.sampled_from(
    ["", " ", "\x00", "é" * 3000, "🚨" * 600, "0001-01-01T00:00:00Z", "x" * 70000]
)
json_values = st.recursive(
    scalars | nasty_text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def check(kind: str, body: bytes, options: dict | None = None) -> None:
    try:
        events = PARSERS[kind](body, {}, options or {"grouping": "group"})
    except (PayloadError, SignatureError):
        return
    for event in events:
        assert event.action in ACTIONS
        assert event.severity in SEVERITIES
        assert isinstance(event.summary, str) and len(event.summary) <= 1024
        assert isinstance(event.dedup_key, str) and len(event.dedup_key) <= 255
        assert isinstance(event.details, dict)
        for alert in event.alerts:
            assert alert.status in ("firing", "resolved")
            assert len(alert.summary) <= 1024 and len(alert.fingerprint) <= 255
            for moment in (alert.starts_at, alert.ends_at):
                assert moment is None or moment.utcoffset() is not None


def mutate(value, path_choice, replacement):
    """Replace (or delete, for a dict key) one node of `value` chosen by `path_choice`."""
    nodes = []

    def walk(node, parent, key):
        nodes.append((parent, key))
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, node, k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, node, i)

    walk(value, None, None)
    parent, key = nodes[path_choice % len(nodes)]
    if parent is None:
        return replacement
    if replacement == "<delete>" and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = replacement
    return value


@FUZZ
@given(kind=st.sampled_from(KINDS), body=st.binary(max_size=300))
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
    where=st.integers(min_value=0),
    replacement=json_values | st.just("<delete>"),
    grouping=st.sampled_from(["group", "alert"]),
)
def test_mutated_captured_payloads(kind, sample, where, replacement, grouping):
    samples = SAMPLES[kind]
    body = json.loads(json.dumps(samples[sample % len(samples)]))
    check(kind, json.dumps(mutate(body, where, replacement)).encode(), {"grouping": grouping})


@FUZZ
@given(kind=st.sampled_from(KINDS), sample=st.integers(min_value=0), cut=st.integers(min_value=0))
def test_truncated_captured_payloads(kind, sample, cut):
    samples = SAMPLES[kind]
    raw = json.dumps(samples[sample % len(samples)], ensure_ascii=False).encode()
    check(kind, raw[: cut % len(raw)])
