"""Inbound Twilio webhooks: SMS replies and message status callbacks.

Every request must carry a valid `X-Twilio-Signature` over our public URL; anything else gets
403 and changes nothing. Unknown or late callbacks get 200 so Twilio stops retrying.
"""

import logging
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from paging.actions import timeline_add
from paging.models import Notification, NotificationStatus
from paging.replies import sms_reply_handle

log = logging.getLogger(__name__)

# Twilio's message statuses, mapped to ours; the rest (accepted, sending...) change nothing.
STATUS_MAP = {
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.FAILED,
    "failed": NotificationStatus.FAILED,
}


def signature_valid(request: HttpRequest) -> bool:
    """Return whether the request is signed by Twilio with our auth token."""
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # Twilio signs the URL it called, which is our public URL, not what a proxy passed on.
    url = settings.PUBLIC_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST.dict(), signature)


def _twiml(message: str | None) -> HttpResponse:
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return HttpResponse(body, content_type="text/xml")


def _forbidden() -> HttpResponse:
    log.warning("rejected a Twilio webhook with a missing or bad signature")
    return HttpResponse("invalid signature", status=403, content_type="text/plain")


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """Handle a reply to one of our pages."""
    if not signature_valid(request):
        return _forbidden()
    answer = sms_reply_handle(phone=request.POST.get("From", ""), text=request.POST.get("Body", ""))
    return _twiml(answer)


@csrf_exempt
@require_POST
def message_status(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Record a delivery status Twilio reports for one of our messages."""
    if not signature_valid(request):
        return _forbidden()
    status = STATUS_MAP.get(request.POST.get("MessageStatus", ""))
    notification = Notification.objects.filter(
        pk=notification_id, provider_id=request.POST.get("MessageSid", "")
    ).first()
    if status is None or notification is None or notification.status == status:
        return _twiml(None)
    error = request.POST.get("ErrorCode", "")
    notification.status = status
    notification.error = f"Twilio error {error}" if error else notification.error
    notification.save(update_fields=["status", "error"])
    word = request.POST["MessageStatus"]
    what = f"{notification.get_kind_display()} to {notification.user} {word}"
    timeline_add(incident=notification.incident, kind=f"sms_{word}", message=what)
    return _twiml(None)
