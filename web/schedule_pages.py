"""The Schedules pages: my teams' schedules, one schedule's picture and shifts, my shifts,
covering a shift, and asking for cover (accept, decline, cancel).

Overrides are made only through `schedules.overrides.cover` and requests only through
`schedules.swaps`; `accounts.access` decides who may.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import access
from accounts.models import User
from oncall.usertime import in_viewer_zone
from schedules import swaps
from schedules.admin import picture_of
from schedules.models import CoverRequest, Schedule
from schedules.overrides import CoverRefused, cover, cover_refusal
from schedules.picture import PICTURE_DAYS
from schedules.resolver import shifts
from web.shifts import my_shifts, oncall_in, team_schedules
from web.views import back_to

LOCAL = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
MY_SHIFTS_SHOWN = 50


@require_GET
@login_required
@in_viewer_zone
def schedule_list(request: HttpRequest) -> HttpResponse:
    """Show requests for cover, my teams' schedules with who is on call, and my shifts."""
    user, now = request.user, timezone.now()
    mine = team_schedules(user)
    others = Schedule.objects.none()
    if settings.TEAMS_OPEN_READ or access.is_site_admin(user):
        others = access.readable(user, Schedule.objects.exclude(pk__in=mine.values("pk")))
        others = others.select_related("team").order_by("name")
    asked = list(swaps.asked_by(user, now))
    coming = my_shifts(user, now)
    unanswered = list(swaps.unanswered_for(user, now))
    context = {
        "unanswered": unanswered,
        "requests": [r for r in swaps.open_for(user, now) if r not in unanswered],
        "asked": asked,
        "oncall": oncall_in(mine, now),
        "others": list(others),
        "shifts": _with_requests(coming[:MY_SHIFTS_SHOWN], asked),
        "shift_count": len(coming),
        "nav": "schedules",
    }
    return render(request, "web/schedules.html", context)


def _with_requests(found: list, asked: list[CoverRequest]) -> list[tuple]:
    """Pair each of my shifts with my open request that overlaps it, if any."""

    def overlapping(shift) -> CoverRequest | None:
        same = (r for r in asked if r.schedule_id == shift.schedule.pk)
        return next((r for r in same if r.start < shift.end and r.end > shift.start), None)

    return [(shift, overlapping(shift)) for shift in found]


def _readable_schedule(request: HttpRequest, pk: int) -> Schedule:
    """Return the schedule, or answer 404 when the viewer may not read it."""
    schedule = get_object_or_404(Schedule.objects.select_related("team"), pk=pk)
    if not access.may_read(request.user, schedule):
        raise Http404("No such schedule.")
    return schedule


@require_GET
@login_required
@in_viewer_zone
def schedule_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a schedule's 14-day picture, who is on call now, its shifts and open requests."""
    schedule = _readable_schedule(request, pk)
    user, now = request.user, timezone.now()
    picture = picture_of(schedule, now)
    end = now + dt.timedelta(days=PICTURE_DAYS)
    found = shifts(schedule.snapshot(now, end), now, end)
    names = User.objects.in_bulk({s.person for s in found})
    requests = [r for r in swaps.open_for(user, now) if r.schedule_id == schedule.pk]
    context = {
        "schedule": schedule,
        "picture": picture,
        "shifts": [(s, names.get(s.person)) for s in found],
        "may_cover": access.may_cover(user, schedule, user),
        "requests": requests,
        "days": PICTURE_DAYS,
        "nav": "schedules",
    }
    return render(request, "web/schedule.html", context)


class SpanForm(forms.Form):
    """A start and an end, read in the schedule's zone (the view makes it the current one)."""

    start = forms.DateTimeField(
        input_formats=[LOCAL], widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    end = forms.DateTimeField(
        input_formats=[LOCAL], widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    person = forms.ModelChoiceField(
        queryset=User.objects.all(), required=False, widget=forms.HiddenInput
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        return data


def _initial(request: HttpRequest, zone: ZoneInfo) -> dict:
    """Read the shift a Cover or Ask link names (ISO instants), as local times of `zone`."""
    initial = {"person": request.GET.get("person")}
    for field in ("start", "end"):
        try:
            instant = dt.datetime.fromisoformat(request.GET.get(field, ""))
        except ValueError:
            continue
        if instant.tzinfo is not None:
            initial[field] = instant.astimezone(zone).strftime(LOCAL)
    return initial


def _span_form(request: HttpRequest, schedule: Schedule) -> SpanForm:
    """Return the bound form (read in the schedule's zone) for a POST, else one with initials."""
    zone = ZoneInfo(schedule.time_zone)
    if request.method != "POST":
        return SpanForm(initial=_initial(request, zone))
    form = SpanForm(request.POST)
    with timezone.override(zone):
        form.is_valid()
    return form


def _form_page(request, schedule, form, what: str, status: int = 200, refusal: str = ""):
    person = form["person"].value()
    context = {
        "schedule": schedule,
        "person": User.objects.filter(pk=person).first() if str(person).isdigit() else None,
        "form": form,
        "what": what,
        "refusal": refusal,
        "nav": "schedules",
    }
    return render(request, "web/span_form.html", context, status=status)


def _apply_errors(form: SpanForm, error: ValidationError) -> None:
    """Put a model's ValidationError on the form's fields, in its words."""
    fields = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, words in fields.items():
        for line in words:
            form.add_error(field if field in form.fields else None, line)


def _span_page(request, schedule, what: str, refusal: str, act) -> HttpResponse:
    """Show the span form, or on a valid POST call `act(cleaned_data)`, which makes the change
    and returns where to go; a refusal answers 403, a bad span 400, in the model's words."""
    form = _span_form(request, schedule)
    if request.method != "POST" or refusal or not form.is_valid():
        status = 403 if refusal else (400 if form.is_bound else 200)
        return _form_page(request, schedule, form, what, status, refusal)
    try:
        return act(form.cleaned_data)
    except CoverRefused as error:
        return _form_page(request, schedule, form, what, 403, str(error))
    except ValidationError as error:
        _apply_errors(form, error)
        return _form_page(request, schedule, form, what, 400)


@require_http_methods(["GET", "POST"])
@login_required
@in_viewer_zone
def cover_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Take all or part of a shift for myself (an override), through `cover`."""
    schedule = _readable_schedule(request, pk)
    user = request.user

    def act(data: dict) -> HttpResponse:
        replaces = data["person"] if data["person"] and data["person"].pk != user.pk else None
        cover(user, schedule, user, data["start"], data["end"], replaces=replaces)
        whose = f"{replaces}'s shift" if replaces else "the schedule"
        messages.success(request, f"You cover {whose} in {schedule}.")
        return redirect("web:schedule", pk=schedule.pk)

    refusal = cover_refusal(user, schedule, user) or ""
    return _span_page(request, schedule, "cover", refusal, act)


@require_http_methods(["GET", "POST"])
@login_required
@in_viewer_zone
def ask_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask my team to cover all or part of one of my shifts."""
    schedule = _readable_schedule(request, pk)
    user = request.user

    def act(data: dict) -> HttpResponse:
        swaps.cover_request_open(
            actor=user, schedule=schedule, start=data["start"], end=data["end"]
        )
        messages.success(request, f"You asked {schedule.team} to cover your shift in {schedule}.")
        return redirect("web:schedules")

    refusal = swaps.ask_refusal(user, schedule) or ""
    return _span_page(request, schedule, "ask", refusal, act)


def _request_for(request: HttpRequest, pk: int, action: str) -> CoverRequest:
    """Return the request if the viewer may act on it this way, else answer 404."""
    user, now = request.user, timezone.now()
    if action == "cancel":
        shown = CoverRequest.objects.filter(requester=user)
    else:
        shown = swaps.open_for(user, now) | swaps.unanswered_for(user, now)
    found = shown.select_related("schedule", "schedule__team", "requester").filter(pk=pk).first()
    if found is None:
        raise Http404("No such request for cover.")
    return found


@require_POST
@login_required
@in_viewer_zone
def request_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Accept, decline or cancel a request for cover; say what happened, go back."""
    if action not in ("accept", "decline", "cancel"):
        raise Http404("No such action.")
    found = _request_for(request, pk, action)
    user = request.user
    try:
        if action == "accept":
            swaps.cover_request_accept(actor=user, request=found)
            words = f"You cover {found.requester}'s shift in {found.schedule}; they are told."
        elif action == "decline":
            swaps.cover_request_decline(actor=user, request=found)
            words = f"Declined: {found.requester}'s request stays open for the others."
        else:
            swaps.cover_request_cancel(actor=user, request=found)
            words = "Your request for cover is cancelled."
    except CoverRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, words)
    return redirect(back_to(request, reverse("web:schedules")))
