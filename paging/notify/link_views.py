"""Pages behind the links we e-mail: a GET only asks to confirm; the POST acts.

Mail scanners and link previews follow every link with a GET, so nothing changes on a GET.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from oncall.timezones import local_time
from paging.actions import act_refusal, incident_acknowledge, incident_resolve
from paging.models import Incident, IncidentStatus
from paging.notify.links import ACTIONS, action_from_token
from paging.notify.verification import contact_method_mark_verified, method_for_link_token

VIA = "e-mail link"
_DO = {"ack": incident_acknowledge, "resolve": incident_resolve}
_DONE = {"ack": "acknowledged", "resolve": "resolved"}


def _gone(request: HttpRequest, what: str) -> HttpResponse:
    context = {"title": "Link expired", "message": f"This {what} link is invalid or expired."}
    return render(request, "paging/link_result.html", context, status=404)


def _already(incident: Incident, action: str, zone: str) -> str | None:
    """Return what the incident's state is when `action` would change nothing, or None."""
    if incident.status == IncidentStatus.RESOLVED:
        done, by, at = "resolved", incident.resolved_by, incident.resolved_at
    elif action == "ack" and incident.status == IncidentStatus.ACKNOWLEDGED:
        done, by, at = "acknowledged", incident.acknowledged_by, incident.acknowledged_at
    else:
        return None
    who = f" by {by}" if by else ""
    when = f" at {local_time(at, zone)}" if at else ""
    return f"Incident #{incident.pk} is already {done}{who}{when}."


@require_http_methods(["GET", "POST"])
def page_link(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) or carry out (POST) the acknowledge / resolve action a page link names."""
    found = action_from_token(token)
    if found is None:
        return _gone(request, "page")
    notification, action = found
    incident = notification.incident
    if refusal := act_refusal(incident=incident, by=notification.user):
        context = {"title": f"Incident #{incident.pk}", "message": f"{refusal}."}
        return render(request, "paging/link_result.html", context, status=403)
    if request.method == "GET" and (
        state := _already(incident, action, notification.user.time_zone)
    ):
        context = {"title": f"Incident #{incident.pk}", "message": state}
        return render(request, "paging/link_result.html", context)
    if request.method == "GET":
        context = {"incident": incident, "verb": ACTIONS[action], "person": notification.user}
        return render(request, "paging/link_confirm.html", context)
    if _DO[action](incident=incident, by=notification.user, via=VIA):
        message = f"Incident #{incident.pk} {_DONE[action]} by {notification.user}."
    else:
        message = f"Nothing changed: incident #{incident.pk} is already {incident.status}."
    context = {"title": f"Incident #{incident.pk}", "message": message}
    return render(request, "paging/link_result.html", context)


@require_http_methods(["GET", "POST"])
def contact_verify(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) or verify (POST) the e-mail address a verification link names."""
    method = method_for_link_token(token)
    if method is None:
        return _gone(request, "verification")
    if request.method == "GET":
        context = {"method": method, "verb": "Confirm", "person": method.user}
        return render(request, "paging/link_confirm.html", context)
    contact_method_mark_verified(method=method)
    message = f"{method.address} now receives on-call pages for {method.user}."
    return render(request, "paging/link_result.html", {"title": "Confirmed", "message": message})
