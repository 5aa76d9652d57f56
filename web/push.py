"""Installing the app and turning on push: the manifest, the service worker at the root scope,
and the view that stores a browser's push subscription as a contact method."""

import functools
import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from paging.notify.push import SubscriptionError, subscription_parse
from paging.notify.verification import push_subscribe
from paging.vapid import push_configured

WORKER = Path(__file__).resolve().parent / "static" / "web" / "sw.js"
MAX_BODY = 8 * 1024


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    """Describe the app for "Add to home screen": name, icons, start page, standalone."""
    icons = [
        {"src": static(f"web/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png"}
        for size in (192, 512)
    ]
    data = {
        "name": "On call",
        "short_name": "On call",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b22222",
        "icons": icons,
    }
    return JsonResponse(data, content_type="application/manifest+json")


@functools.cache
def _worker() -> bytes:
    return WORKER.read_bytes()


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """Serve the service worker from the root, so that its scope is the whole app."""
    response = HttpResponse(_worker(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


def _refusal(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse(
        {"errors": {field: [message]}, "message": f"{field}: {message}"}, status=status
    )


def _read(request: HttpRequest) -> tuple[dict, str]:
    """Return the posted subscription and device name; raise SubscriptionError naming the field."""
    if len(request.body) > MAX_BODY:
        raise SubscriptionError("subscription", f"Larger than {MAX_BODY} bytes.")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise SubscriptionError("subscription", "Send a JSON object.") from None
    if not isinstance(data, dict):
        raise SubscriptionError("subscription", "Send a JSON object.")
    name = data.get("name") or "this device"
    if not isinstance(name, str):
        raise SubscriptionError("name", "Must be text.")
    return data.get("subscription"), name.strip()[:100] or "this device"


@require_http_methods(["GET", "POST"])
@login_required
def me_push(request: HttpRequest) -> HttpResponse:
    """Show "Turn on push on this device" (GET); store this browser's subscription (POST)."""
    if request.method == "GET":
        return render(request, "web/push.html", {"nav": "me"})
    if not push_configured():
        return _refusal("push", "Push notifications are not set up on this server.", status=409)
    try:
        raw, name = _read(request)
        subscription = subscription_parse(raw)
    except SubscriptionError as exc:
        return _refusal(exc.field, str(exc))
    method, problem = push_subscribe(user=request.user, subscription=subscription, name=name)
    if method.verified:
        message = "Push is on for this device."
    elif problem:
        message = f"This device is saved, but the test push did not go out: {problem}"
    else:
        message = "Sent a test push: tap Confirm on it to get pages on this device."
    return JsonResponse({"id": method.pk, "verified": method.verified, "message": message})
