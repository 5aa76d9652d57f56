"""Where a push notification's actions land: a GET asks to confirm; the POST acts.

The service worker posts the link itself when its action is tapped on the lock screen: it has
no page, so no CSRF token. The signed, single-use, expiring link is the authority (as a signed
Twilio webhook is), and it acts only as the person it was sent to, if they still may act.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.access import may_act
from paging.actions import incident_acknowledge, incident_resolve
from paging.notify.push import ACTIONS, LinkRefused, link_read, link_use
from paging.notify.verification import contact_method_mark_verified, method_for_link_token

VIA = "push"
_DO = {"ack": incident_acknowledge, "resolve": incident_resolve}
_DONE = {"ack": "acknowledged", "resolve": "resolved"}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(request: HttpRequest, title: str, message: str, status: int = 200) -> HttpResponse:
    """Answer the service worker in JSON, a person in a small page."""
    if _wants_json(request):
        return JsonResponse({"ok": status == 200, "message": message}, status=status)
    context = {"title": title, "message": message}
    return render(request, "paging/link_result.html", context, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def push_action(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) or carry out once (POST) the acknowledge / resolve a push action names."""
    try:
        link = link_read(token)
    except LinkRefused as exc:
        return _answer(request, "Link refused", str(exc), status=410)
    incident, person = link.notification.incident, link.notification.user
    if not may_act(person, incident):
        message = f"{person} may no longer act on incident #{incident.pk}."
        return _answer(request, "Not allowed", message, status=403)
    if request.method == "GET":
        context = {"incident": incident, "verb": ACTIONS[link.action], "person": person}
        return render(request, "paging/link_confirm.html", context)
    try:
        link_use(link)
    except LinkRefused as exc:
        return _answer(request, "Link refused", str(exc), status=410)
    if _DO[link.action](incident=incident, by=person, via=VIA):
        message = f"Incident #{incident.pk} {_DONE[link.action]} by {person}."
    else:
        incident.refresh_from_db(fields=["status"])
        message = f"Nothing changed: incident #{incident.pk} is already {incident.status}."
    return _answer(request, f"Incident #{incident.pk}", message)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def push_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) or verify (POST) the device a test push's Confirm action names."""
    method = method_for_link_token(token)
    if method is None:
        message = "This confirmation is invalid, used or expired: turn on push again."
        return _answer(request, "Link refused", message, status=410)
    if request.method == "GET":
        context = {"method": method, "verb": "Confirm", "person": method.user}
        return render(request, "paging/link_confirm.html", context)
    contact_method_mark_verified(method=method)
    message = f"This device ({method.address}) now receives on-call pages for {method.user}."
    return _answer(request, "Confirmed", message)
