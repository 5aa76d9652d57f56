"""The responder's pages: Now, the incidents list, an incident (live), and the action buttons.

Views parse, call the same actions and permission checks as the API and admin, and render.
"""

import hashlib
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from oncall.limits import Limited
from oncall.usertime import in_viewer_zone
from paging.actions import REFUSALS, incident_acknowledge, incident_escalate_now, incident_resolve
from paging.admin_incident import detail_rows, notification_rows, page_links
from paging.models import Incident
from schedules import swaps
from web import incidents as found
from web.filters import IncidentFilter
from web.shifts import next_shift, oncall_now

NOW_SHOWN = 50
PER_PAGE = 25
ALERTS_SHOWN = 20
PAYLOAD_SHOWN = 4000
VIA = "web"

ACTIONS = {
    "acknowledge": (incident_acknowledge, "acknowledged"),
    "resolve": (incident_resolve, "resolved"),
    "escalate": (incident_escalate_now, "escalated"),
}


@require_GET
@login_required
@in_viewer_zone
def now(request: HttpRequest) -> HttpResponse:
    """Show the open incidents that need me, most urgent first, who is on call, my next shift."""
    user = request.user
    open_ones = found.with_people(found.needs_me(user))
    at = timezone.now()
    context = {
        "rows": found.rows(user, open_ones[:NOW_SHOWN]),
        "open_count": open_ones.count(),
        "shown": NOW_SHOWN,
        "oncall": oncall_now(user, at),
        "my_shift": next_shift(user, at),
        "unanswered": swaps.unanswered_for(user, at).count(),
        "cover_asked": swaps.open_for(user, at).count(),
        "nav": "now",
    }
    return render(request, "web/now.html", context)


@require_GET
@login_required
@in_viewer_zone
def incident_list(request: HttpRequest) -> HttpResponse:
    """List the incidents I may read: mine, my teams' or all, by status and service, by page."""
    user = request.user
    form = IncidentFilter(request.GET or None, user=user)
    if request.GET and not form.is_valid():
        context = {"form": form, "page": None, "rows": [], "nav": "incidents"}
        return render(request, "web/incidents.html", context, status=400)
    chosen = found.with_people(form.incidents()).order_by("-created_at", "-pk")
    page = Paginator(chosen, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": found.rows(user, page),
        "query": form.query(),
        "nav": "incidents",
    }
    return render(request, "web/incidents.html", context)


def _readable_incident(request: HttpRequest, pk: int) -> Incident:
    """Return the incident, or answer 404 when the viewer may not read it (nor know it exists)."""
    incident = get_object_or_404(found.with_people(Incident.objects.all()), pk=pk)
    if not access.may_read(request.user, incident):
        raise Http404("No such incident.")
    return incident


def _live_context(request: HttpRequest, incident: Incident) -> dict:
    row = found.row_of(request.user, incident)
    timeline = list(incident.timeline.select_related("actor"))
    pages = notification_rows(incident)
    state = [
        incident.status,
        incident.escalation_tier,
        incident.escalation_loop,
        incident.escalation_due_at,
        incident.alert_count,
        row.may_act,
        [(t.pk, t.message) for t in timeline],
        [(sent.notification.pk, sent.outcome) for sent in pages],
    ]
    return {
        "row": row,
        "incident": incident,
        "timeline": timeline,
        "pages": pages,
        "version": hashlib.sha256(repr(state).encode()).hexdigest()[:16],
        "back": reverse("web:incident", args=[incident.pk]),
    }


@require_GET
@login_required
@in_viewer_zone
def incident_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one incident: what is wrong, its state and buttons, timeline, pages and alerts."""
    incident = _readable_incident(request, pk)
    context = {
        **_live_context(request, incident),
        "details": detail_rows(incident.details),
        "links": page_links(incident.links),
        "alerts": [(a, _payload(a.payload)) for a in incident.alerts.all()[:ALERTS_SHOWN]],
    }
    return render(request, "web/incident.html", context)


def _payload(payload: dict) -> str:
    """Return what the monitoring tool sent as indented JSON, cut short when it is long."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= PAYLOAD_SHOWN else text[:PAYLOAD_SHOWN] + "\n…"


@require_GET
@login_required
@in_viewer_zone
def incident_live(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer the incident page's poll: its live part, or 204 when nothing changed since."""
    incident = _readable_incident(request, pk)
    context = _live_context(request, incident)
    if request.GET.get("since") == context["version"]:
        return HttpResponse(status=204)
    response = render(request, "web/_incident_live.html", context)
    response["X-Version"] = context["version"]
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@in_viewer_zone
def incident_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Acknowledge, resolve or escalate in one tap: a redirect for a form, JSON for fetch."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    incident = _readable_incident(request, pk)
    message, status, wait = _act(request, incident, action)
    if request.headers.get("X-Requested-With") == "fetch":
        response = _act_json(request, incident, message, status)
        if wait:
            response["Retry-After"] = str(wait)
        return response
    messages.add_message(request, messages.SUCCESS if status == 200 else messages.ERROR, message)
    return redirect(_back(request, incident))


def _act(request: HttpRequest, incident: Incident, action: str) -> tuple[str, int, int | None]:
    """Run the action if the viewer may; return what happened in words, its HTTP status, and
    the seconds to wait when it was refused for now."""
    change, done = ACTIONS[action]
    if not access.may_act(request.user, incident):
        team = incident.service.team
        return (
            f"Not {done}: you may read #{incident.pk} but not act on it. Acknowledging, "
            f"resolving and escalating are for the responders of {team} and the people it paged.",
            403,
            None,
        )
    try:
        changed = change(incident=incident, by=request.user, via=VIA)
    except Limited as error:
        why = str(error).removeprefix(f"#{incident.pk} was ")
        return f"Not {done}: it was {why}", 429, error.retry_after(timezone.now())
    if not changed:
        return f"Not {done}: the {REFUSALS[action].format(status=incident.status)}", 409, None
    return f"#{incident.pk} {done}.", 200, None


def _act_json(request: HttpRequest, incident: Incident, message: str, status: int) -> JsonResponse:
    """Answer fetch with the words and the re-rendered part the pressed form sits in."""
    incident = found.with_people(Incident.objects.all()).get(pk=incident.pk)
    if request.POST.get("part") == "live":
        context = _live_context(request, incident)
        html = render_to_string("web/_incident_live.html", context, request=request)
        body = {"message": message, "html": html, "version": context["version"]}
    else:
        context = {"row": found.row_of(request.user, incident), "back": _back(request, incident)}
        body = {"message": message, "html": render_to_string("web/_row.html", context, request)}
    return JsonResponse(body, status=status)


def back_to(request: HttpRequest, default: str) -> str:
    """Return where the pressed form asked to go back to if it is one of our pages, else
    `default`."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe and target.startswith("/") else default


def _back(request: HttpRequest, incident: Incident) -> str:
    return back_to(request, reverse("web:incident", args=[incident.pk]))
