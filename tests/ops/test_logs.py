"""Log lines: secrets masked whatever carries them, JSON when asked, request ids on each line."""

import json
import logging

from oncall.logs import JsonFormatter, PlainFormatter, redact
from oncall.requestid import RequestIdFilter


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("paging", logging.WARNING, __file__, 1, message, args, exc_info)


def test_secrets_in_urls_bodies_and_headers_are_masked(settings):
    settings.TWILIO_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
    line = (
        "POST /integrations/AbC-123_xyz/ from +15550100001; feed /calendar/tok3n_s3cr3t.ics; "
        'body {"routing_key": "R0uT1nGk3y"}; Authorization: Bearer oc_AbCdEfGh123456; '
        "To=%2B15550100002; token 0123456789abcdef0123456789abcdef"
    )

    cleaned = redact(line)

    for secret in ("AbC-123_xyz", "tok3n_s3cr3t", "R0uT1nGk3y", "oc_AbCdEfGh123456"):
        assert secret not in cleaned
    assert "0123456789abcdef0123456789abcdef" not in cleaned
    assert "15550100001" not in cleaned and "15550100002" not in cleaned
    assert "+15***01" in cleaned and "%2B15***02" in cleaned


def test_json_lines_carry_level_logger_request_id_and_a_masked_traceback():
    try:
        raise ValueError("cannot page +15550100001")
    except ValueError as exc:
        entry = record("failed for %s", "/integrations/k3y/", exc=exc)
    entry.request_id = "abc123"

    line = JsonFormatter().format(entry)

    parsed = json.loads(line)
    assert "\n" not in line
    assert parsed["level"] == "WARNING" and parsed["logger"] == "paging"
    assert parsed["message"] == "failed for /integrations/[redacted]/"
    assert parsed["request_id"] == "abc123"
    assert "ValueError: cannot page +15***01" in parsed["exception"]
    assert parsed["time"].endswith("Z")


def test_plain_lines_are_masked_too():
    entry = record("paging %s", "+15550100001")
    RequestIdFilter().filter(entry)

    line = PlainFormatter("%(levelname)s [%(request_id)s] %(message)s").format(entry)

    assert line == "WARNING [] paging +15***01"


def test_request_id_is_echoed_and_a_bad_one_replaced(client, db):
    given = client.get("/healthz/x", HTTP_X_REQUEST_ID="lb-7f3a")
    invented = client.get("/healthz/x", HTTP_X_REQUEST_ID="bad id with spaces\n")

    assert given["X-Request-ID"] == "lb-7f3a"
    assert (
        invented["X-Request-ID"] != "bad id with spaces\n" and len(invented["X-Request-ID"]) == 32
    )
