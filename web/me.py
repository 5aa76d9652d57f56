"""Me: where a signed-in person manages their own contact methods, notification rules, test
page, calendar feed, API tokens and time zone.

Every view acts on the viewer's own rows only (someone else's id is a 404) and calls the same
functions as the API and admin. A bad form answers 400 with the page and the error in words;
an action answers with a redirect and says what happened.
"""

import smtplib
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.models import ApiToken, User, tokens_revoke
from accounts.people import unpageable_reason
from oncall.limits import Limited
from oncall.usertime import in_viewer_zone
from paging.engine import person_test_page
from paging.models import ContactKind, ContactMethod, NotificationRule
from paging.notify.channels.base import DeliveryError
from paging.notify.verification import (
    contact_method_verification_send,
    contact_method_verify,
    verify_refused_why,
)
from paging.rules import delay_words, rules_sentence
from schedules.models import CalendarFeed, feed_recreate, feeds_revoke
from web.me_forms import CodeForm, MethodForm, RuleForm, TokenForm, ZoneForm

# What a code is sent by, and how its owner proves it, in words.
HOW_TO_VERIFY = {
    ContactKind.SMS: "Enter the code we texted, or reply to the SMS with it.",
    ContactKind.VOICE: "Answer our call and press 1.",
    ContactKind.EMAIL: "Enter the code we e-mailed, or open the link in the e-mail.",
}
NOT_SENT = (Limited, DeliveryError, OSError, smtplib.SMTPException)


def _me(part: str = "") -> str:
    return reverse("web:me") + (f"#{part}" if part else "")


def _feed_of(user: User) -> CalendarFeed | None:
    live = user.calendar_feeds.filter(revoked_at__isnull=True)
    return live.order_by("-created_at", "-pk").first()


def _steps(rules: list[NotificationRule]) -> list[tuple[str, list[NotificationRule]]]:
    """Return the rules as a timeline: ("At once", [rules]), ("After 2 minutes", [rules]) …"""
    return [
        (delay_words(delay).capitalize(), list(same))
        for delay, same in groupby(rules, key=lambda r: r.delay)
    ]


def _context(request: HttpRequest, **overrides) -> dict:
    """Return everything the page shows, in a fixed number of queries whatever it holds."""
    user = request.user
    methods = list(user.contact_methods.order_by("kind", "pk"))
    for method in methods:
        method.how_to_verify = HOW_TO_VERIFY.get(method.kind, "")
    rules = list(user.notification_rules.select_related("contact_method").order_by("delay", "pk"))
    context = {
        "nav": "me",
        "methods": methods,
        "steps": _steps(rules),
        "sentence": rules_sentence(user),
        "feed": _feed_of(user),
        "tokens": list(user.api_tokens.filter(revoked_at__isnull=True).order_by("-created_at")),
        "method_form": MethodForm(user=user),
        "rule_form": RuleForm(user=user),
        "token_form": TokenForm(),
        "zone_form": ZoneForm(initial={"time_zone": user.time_zone}),
        "code_form": None,
        "code_for": None,
        "new_token": None,
    }
    context.update(overrides)
    return context


def _page(request: HttpRequest, status: int = 200, **overrides) -> HttpResponse:
    return render(request, "web/me.html", _context(request, **overrides), status=status)


@require_GET
@login_required
@in_viewer_zone
def me(request: HttpRequest) -> HttpResponse:
    """Show my contact methods, rules, test page, calendar feed, API tokens and time zone."""
    return _page(request)


def _send_code(request: HttpRequest, method: ContactMethod) -> bool:
    """Send `method` a fresh code as admin does; say why when none went out."""
    try:
        contact_method_verification_send(method=method)
    except NOT_SENT as error:
        messages.error(request, f"No code was sent to {method.address}: {error}.")
        return False
    return True


@require_POST
@login_required
@in_viewer_zone
def method_add(request: HttpRequest) -> HttpResponse:
    """Add a phone number or e-mail address and send it a verification code."""
    form = MethodForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, 400, method_form=form)
    method = form.save()
    if _send_code(request, method):
        how = HOW_TO_VERIFY[method.kind]
        messages.success(request, f"Added {method.address}. We sent it a code: {how}")
    return redirect(_me(f"method-{method.pk}"))


def _my_method(request: HttpRequest, pk: int) -> ContactMethod:
    return get_object_or_404(ContactMethod, pk=pk, user=request.user)


@require_POST
@login_required
@in_viewer_zone
def method_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """Verify one of my methods with the code it received."""
    method = _my_method(request, pk)
    if method.verified:
        messages.info(request, f"{method.address} is verified already.")
        return redirect(_me(f"method-{method.pk}"))
    form = CodeForm(request.POST)
    if form.is_valid():
        if contact_method_verify(method=method, code=form.cleaned_data["code"]):
            messages.success(request, f"Verified: pages may now go to {method.address}.")
            return redirect(_me(f"method-{method.pk}"))
        form.add_error("code", f"That code was not taken: {verify_refused_why(method)}.")
    return _page(request, 400, code_form=form, code_for=method.pk)


@require_POST
@login_required
@in_viewer_zone
def method_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one of my unverified methods a fresh code."""
    method = _my_method(request, pk)
    if method.verified:
        messages.info(request, f"{method.address} is verified already.")
    elif _send_code(request, method):
        messages.success(request, f"A fresh code is on its way: {HOW_TO_VERIFY[method.kind]}")
    return redirect(_me(f"method-{method.pk}"))


@require_POST
@login_required
@in_viewer_zone
def method_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove one of my methods; the steps of my rules that used it go with it (as in the API)."""
    method = _my_method(request, pk)
    steps = NotificationRule.objects.filter(contact_method=method).count()
    method.delete()
    also = f", and the {steps} step{'s' if steps != 1 else ''} of your rules using it" * bool(steps)
    messages.success(request, f"Removed {method.get_kind_display()} to {method.address}{also}.")
    return redirect(_me("methods"))


@require_POST
@login_required
@in_viewer_zone
def rule_add(request: HttpRequest) -> HttpResponse:
    """Add a step to my notification rules."""
    form = RuleForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, 400, rule_form=form)
    form.save()
    messages.success(request, f"Step added. You are paged by: {rules_sentence(request.user)}.")
    return redirect(_me("rules"))


@require_POST
@login_required
@in_viewer_zone
def rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a step of my notification rules."""
    get_object_or_404(NotificationRule, pk=pk, user=request.user).delete()
    messages.success(request, f"Step removed. You are paged by: {rules_sentence(request.user)}.")
    return redirect(_me("rules"))


@require_POST
@login_required
@in_viewer_zone
def test_page(request: HttpRequest) -> HttpResponse:
    """Page me with a test incident through my own rules, as admin's test page does."""
    user = request.user
    why = unpageable_reason(user)
    incident = None if why else person_test_page(user=user, by=user)
    if incident is None:
        why = why or "none of your contact methods is verified yet"
        messages.error(request, f"No test page sent: {why}.")
    else:
        sentence = rules_sentence(user)
        messages.success(request, f"Test page sent as incident #{incident.pk}: {sentence}.")
    return redirect(_me("test"))


@require_POST
@login_required
@in_viewer_zone
def feed_new(request: HttpRequest) -> HttpResponse:
    """Create my calendar feed, or replace its URL with a new one (the old one stops working)."""
    user = request.user
    feed = _feed_of(user)
    if feed is None:
        CalendarFeed.objects.create(user=user, created_by=user)
        messages.success(request, "Your calendar feed is ready: paste its URL into your calendar.")
    else:
        feed_recreate(feed=feed, by=user)
        messages.success(request, "Your calendar feed has a new URL; the old one stopped working.")
    return redirect(_me("feed"))


@require_POST
@login_required
@in_viewer_zone
def feed_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke my calendar feed: its URL answers 404 from now on."""
    if feeds_revoke(request.user.calendar_feeds.all()):
        messages.success(request, "Your calendar feed is revoked: its URL no longer works.")
    return redirect(_me("feed"))


@require_POST
@login_required
@in_viewer_zone
def token_create(request: HttpRequest) -> HttpResponse:
    """Create an API token and show it on this response only (never stored, never again)."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, 400, token_form=form)
    token, raw = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
    response = _page(request, new_token={"token": token, "raw": raw})
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
@in_viewer_zone
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of my API tokens: it stops working at once."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    tokens_revoke(ApiToken.objects.filter(pk=token.pk))
    messages.success(request, f"Revoked the token “{token.name}” ({token.hint}…).")
    return redirect(_me("tokens"))


@require_POST
@login_required
@in_viewer_zone
def zone_save(request: HttpRequest) -> HttpResponse:
    """Save my time zone: every page shows times in it from now on."""
    form = ZoneForm(request.POST)
    if not form.is_valid():
        return _page(request, 400, zone_form=form)
    request.user.time_zone = form.cleaned_data["time_zone"]
    request.user.save(update_fields=["time_zone"])
    messages.success(request, f"Times now show in {request.user.time_zone}.")
    return redirect(_me("zone"))
