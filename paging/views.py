"""Integration webhooks: parse, store in one transaction, answer 202 after commit."""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from paging.actions import alert_ingest
from paging.integrations import PARSERS, PayloadError
from paging.models import Integration

log = logging.getLogger(__name__)


def _error(status: int, error: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": error, **extra}, status=status)


@csrf_exempt
@require_POST
def integration_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """Accept alerts for the integration whose secret key is in the URL."""
    integration = Integration.objects.select_related("service").filter(key=key).first()
    if integration is None:
        return _error(404, "unknown integration key")
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "payload too large")
    try:
        events = PARSERS[integration.kind](body, request.headers)
    except PayloadError as exc:
        return _error(400, "invalid payload", field=exc.field, message=exc.message)
    payload = json.loads(body)
    try:
        with transaction.atomic():  # all of a payload's events, or none of them
            incidents = [
                alert_ingest(integration=integration, event=e, payload=payload) for e in events
            ]
    except DatabaseError:
        log.exception("could not store an alert for integration %s", integration.pk)
        return _error(503, "temporarily unable to store the alert; retry")
    ids = [i.pk for i in incidents if i is not None]
    return JsonResponse({"status": "accepted", "incidents": ids}, status=202)
