"""Integration webhooks: parse, store in one transaction, answer 202 after commit.

Every refusal is a JSON 4xx naming the problem, and stores nothing. Monitoring tools retry only
5xx (Alertmanager drops a 4xx for good), so a fault of ours (the database unreachable) is a 503.
"""

import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from paging.ingest.formats import PARSERS, Event, PayloadError, SignatureError, pagerduty_v2
from paging.ingest.formats.base import load_json_object
from paging.ingest.heartbeats import heartbeat_ping
from paging.ingest.store import events_store
from paging.models import Integration, IntegrationKind

log = logging.getLogger(__name__)


class Refusal(Exception):
    """A request we answer with an error status and a JSON body, storing nothing."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict | None = None) -> None:
        super().__init__(body)
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> JsonResponse:
        return JsonResponse(self.body, status=self.status, headers=self.headers)


def _refuse(status: int, error: str, **extra: Any) -> Refusal:
    return Refusal(status, {"error": error, **extra})


def _is_json(request: HttpRequest) -> bool:
    media = request.content_type.lower()
    return media == "application/json" or (media.startswith("application/") and "+json" in media)


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise _refuse(
            413, "payload too large", limit_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        ) from None


def _integration(key: str, *, kind: str | None = None) -> Integration:
    found = Integration.by_key(key)
    if found is None or (kind and found.kind != kind):
        raise _refuse(404, "unknown integration key")
    if not found.enabled:
        reason = found.disabled_reason or "disabled by an administrator"
        raise _refuse(403, "integration disabled", reason=reason)
    return found


def _store(integration: Integration, events: list[Event], body: bytes) -> list[int | None]:
    """Store all of a payload's events, or none of them; return their incidents' ids."""
    # Events that carry their alerts store each alert's own JSON; only the others need the body.
    needed = any(not event.alerts for event in events)
    payload = load_json_object(body) if needed else {}
    if integration.kind == IntegrationKind.PAGERDUTY_V2:
        # The routing key is the integration's secret; every responder can read the alerts.
        payload.pop("routing_key", None)
    return events_store(integration=integration, events=events, payload=payload)


def _guarded(handler: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Turn refusals into their JSON answer and database faults into a 503 to retry."""

    @functools.wraps(handler)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            return handler(request, *args, **kwargs)
        except Refusal as refusal:
            return refusal.response()
        except DatabaseError:
            log.exception("database fault while storing an alert")
            body = {"error": "temporarily unable to store the alert; retry"}
            return JsonResponse(body, status=503, headers={"Retry-After": "5"})

    return csrf_exempt(view)


def _method(request: HttpRequest, allowed: tuple[str, ...]) -> None:
    if request.method not in allowed:
        raise Refusal(
            405,
            {"error": f"method {request.method} not allowed; use {' or '.join(allowed)}"},
            {"Allow": ", ".join(allowed)},
        )


def _heartbeat(integration: Integration) -> JsonResponse:
    incident = heartbeat_ping(integration=integration)
    resolved = incident.pk if incident is not None else None
    return JsonResponse({"status": "ok", "resolved_incident": resolved})


def _parse(integration: Integration, request: HttpRequest, body: bytes) -> list[Event]:
    # The clock is read here, at the edge: parsers stay pure functions of their input.
    options = integration.parser_options | {
        "now": time.time(),
        "hmac_max_age": settings.GRAFANA_SIGNATURE_MAX_AGE_SECONDS,
    }
    try:
        return PARSERS[integration.kind](body, request.headers, options)
    except SignatureError as exc:
        raise _refuse(401, "invalid signature", message=str(exc)) from None
    except PayloadError as exc:
        raise _refuse(400, "invalid payload", field=exc.field, message=exc.message) from None


@_guarded
def integration_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """Accept alerts (or a heartbeat ping) for the integration whose key is in the URL."""
    integration = _integration(key)
    request.integration_kind = integration.kind  # for the alerts-received metric (oncall/metrics)
    if integration.kind == IntegrationKind.HEARTBEAT:
        _method(request, ("GET", "POST"))
        return _heartbeat(integration)
    # Grafana's webhook contact point can be set to PUT.
    _method(request, ("POST", "PUT") if integration.kind == IntegrationKind.GRAFANA else ("POST",))
    if integration.kind == IntegrationKind.PAGERDUTY_V2:
        return _enqueue(request, integration)
    if not _is_json(request):
        raise _refuse(415, "unsupported content type", message="send application/json")
    body = _body(request)
    ids = [i for i in _store(integration, _parse(integration, request, body), body) if i]
    return JsonResponse({"status": "accepted", "incidents": ids}, status=202)


def _invalid_event(status: int, message: str, errors: list[str]) -> Refusal:
    return Refusal(status, {"status": "invalid event", "message": message, "errors": errors})


def _enqueue(request: HttpRequest, integration: Integration | None) -> JsonResponse:
    """Handle a PagerDuty Events API v2 event, answering in PagerDuty's shapes."""
    if not _is_json(request):
        raise _invalid_event(415, "Unsupported content type", ["send application/json"])
    try:
        body = _body(request)
    except Refusal:
        raise _invalid_event(413, "Request too large", ["body exceeds the size limit"]) from None
    try:
        events = pagerduty_v2.parse(body, request.headers, {})
    except PayloadError as exc:
        raise _invalid_event(400, "Event object is invalid", exc.errors) from None
    if events[0].action == "trigger" and not events[0].dedup_key:
        # Generated here, not in storage, so the answer names the key that later resolves it.
        events = [dataclasses.replace(events[0], dedup_key=uuid.uuid4().hex)]
    if integration is None:
        try:
            integration = _integration(pagerduty_v2.routing_key(body) or "", kind="pagerduty_v2")
        except Refusal as refusal:
            errors = [f"routing_key: {refusal.body.get('reason') or refusal.body['error']}"]
            raise _invalid_event(refusal.status, "Event object is invalid", errors) from None
    _store(integration, events, body)
    answer = {"status": "success", "message": "Event processed", "dedup_key": events[0].dedup_key}
    return JsonResponse(answer, status=202)


@_guarded
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    """Accept a PagerDuty Events API v2 event whose routing key is one of our integration keys."""
    _method(request, ("POST",))
    return _enqueue(request, None)
