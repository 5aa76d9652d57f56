"""The page a locked-out sign-in gets: plain words, the time to try again, status 429."""

import datetime as dt
import math

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def _locked_until(request: HttpRequest, credentials: dict | None) -> dt.datetime:
    # Refused attempts do not extend a lockout, so it ends a cool-off after the last failure.
    last = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials),
        ip_address=getattr(request, "axes_ip_address", None),
    ).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + get_cool_off(request)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """Render the lockout page with the time sign-in opens again and a Retry-After."""
    until = _locked_until(request, credentials)
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    context = {"until": until, "minutes": math.ceil(seconds / 60)}
    response = render(request, "accounts/signin_locked.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def client_address(request: HttpRequest) -> str | None:
    """Return the client's address: the trusted proxy's header when one is set, else the peer."""
    if settings.SIGNIN_CLIENT_IP_HEADER:
        # The proxy appends the address it saw; anything left of it the client wrote itself.
        forwarded = request.META.get(settings.SIGNIN_CLIENT_IP_HEADER, "")
        return forwarded.rsplit(",", 1)[-1].strip() or None
    return request.META.get("REMOTE_ADDR")
