"""Inbound Twilio webhooks: SMS replies, status callbacks, and the TwiML of our calls.

Every request must carry a valid `X-Twilio-Signature` over our public URL; anything else gets
403 and changes nothing. Unknown or late callbacks get 200 so Twilio stops retrying.
"""

import functools
import logging
from collections.abc import Callable
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from accounts.people import may_act
from paging.models import Notification
from paging.notify.callbacks import notification_status_record
from paging.notify.replies import sms_inbound_handle
from paging.notify.verification import contact_method_mark_verified, method_for_call_token
from paging.notify.voice import (
    answered_by_machine,
    goodbye_twiml,
    key_pressed,
    page_twiml,
    voice_token_pk,
    voicemail_twiml,
)

log = logging.getLogger(__name__)


def signature_valid(request: HttpRequest) -> bool:
    """Return whether the request is signed by Twilio with our auth token."""
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # Twilio signs the URL it called, which is our public URL, not what a proxy passed on.
    url = settings.PUBLIC_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST.dict(), signature)


def twilio_webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Accept only POSTs signed by Twilio; refuse the rest with 403, changing nothing."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not signature_valid(request):
            log.warning("rejected a Twilio webhook with a missing or bad signature")
            return HttpResponse("invalid signature", status=403, content_type="text/plain")
        return view(request, *args, **kwargs)

    return guarded


def _xml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml")


def _message(text: str | None) -> HttpResponse:
    inner = f"<Message>{escape(text)}</Message>" if text else ""
    return _xml(f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>')


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """Handle a reply to one of our pages (once per MessageSid: Twilio may deliver it again)."""
    post = request.POST
    answer = sms_inbound_handle(
        sid=post.get("MessageSid", ""), phone=post.get("From", ""), text=post.get("Body", "")
    )
    return _message(answer)


@twilio_webhook
def message_status(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Record a delivery status Twilio reports for one of our messages or calls."""
    post = request.POST
    notification_status_record(
        notification_id=notification_id,
        sid=post.get("MessageSid") or post.get("CallSid", ""),
        status=post.get("MessageStatus") or post.get("CallStatus", ""),
        error_code=post.get("ErrorCode", ""),
        seconds=post.get("CallDuration", ""),
        answered_by=post.get("AnsweredBy", ""),
    )
    return _message(None)


def _call_notification(token: str) -> Notification | None:
    """Return the page a call's token names, unless forged, too old or its person deactivated."""
    pk = voice_token_pk(token)
    rows = Notification.objects.select_related("incident__service", "user").filter(may_act("user"))
    return rows.filter(pk=pk).first() if pk is not None else None


@twilio_webhook
def voice_page(request: HttpRequest, token: str) -> HttpResponse:
    """Say the page and ask for a key (Twilio fetches this when the call is answered)."""
    notification = _call_notification(token)
    if notification is None:
        return _xml(goodbye_twiml("This page is no longer valid. Goodbye."))
    if answered_by_machine(answered_by := request.POST.get("AnsweredBy", "")):
        return _xml(_voicemail(request, notification, answered_by))
    tries = request.GET.get("tries", "0")
    return _xml(page_twiml(notification, tries=int(tries) if tries.isdigit() else 0))


def _voicemail(request: HttpRequest, notification: Notification, answered_by: str) -> str:
    """Record that a machine took the page call (the next contact method goes out); leave word."""
    notification_status_record(
        notification_id=notification.pk,
        sid=request.POST.get("CallSid", ""),
        status="in-progress",
        answered_by=answered_by,
    )
    return voicemail_twiml(notification.incident, answered_by)


@twilio_webhook
def voice_gather(request: HttpRequest, token: str) -> HttpResponse:
    """Act on the key pressed during a page call and say what happened."""
    notification = _call_notification(token)
    if notification is None:
        return _xml(goodbye_twiml("This page is no longer valid. Goodbye."))
    return _xml(key_pressed(notification, request.POST.get("Digits", "")[:1]))


@twilio_webhook
def voice_verify(request: HttpRequest, token: str) -> HttpResponse:
    """A verification call: pressing 1 confirms the number."""
    method = method_for_call_token(token)
    if method is None:
        return _xml(goodbye_twiml("This verification call is no longer valid. Goodbye."))
    if request.POST.get("Digits") == "1":
        contact_method_mark_verified(method=method)
        return _xml(goodbye_twiml("Thank you. This number now receives on-call pages. Goodbye."))
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=request.path, method="POST", timeout=8)
    gather.say(f"To receive on-call pages for {method.user} on this number, press 1.")
    response.append(gather)
    response.say("No key was pressed. Goodbye.")
    return _xml(str(response))
