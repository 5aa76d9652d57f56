"""Signing in and out, and setting or resetting a password through an e-mailed link.

Django's own views with our templates and words. Sign-in calls authenticate(request=…), so
django-axes throttles it as it does admin's; the lockout page is accounts/lockout.py's.
Password e-mails are limited per address (silently) and per client (a 429 page): accounts/resets.py.
"""

import datetime as dt
import math

from django.conf import settings
from django.contrib.auth import views as auth
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone

from accounts.lockout import client_address
from accounts.models import User
from accounts.resets import reset_mail_take
from oncall.limits import Limited


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": (
            "That username and password do not match. Check both (they are case-sensitive), "
            "or set a new password below."
        ),
        "inactive": "This account is switched off. Ask an administrator.",
    }


class ResetForm(PasswordResetForm):
    """Django's reset form, also for people who have no password yet (they set their first)."""

    def get_users(self, email: str):
        wanted = email.casefold()
        people = User.objects.filter(email__iexact=email, is_active=True)
        return (p for p in people if p.email.casefold() == wanted)


class SignIn(auth.LoginView):
    template_name = "web/signin.html"
    form_class = SignInForm
    redirect_authenticated_user = True


class SignOut(auth.LogoutView):
    next_page = reverse_lazy("web:signin")


class ResetPassword(auth.PasswordResetView):
    template_name = "web/password_reset.html"
    form_class = ResetForm
    email_template_name = "web/password_reset_email.txt"
    subject_template_name = "web/password_reset_subject.txt"
    success_url = reverse_lazy("web:password_reset_sent")

    @property
    def extra_email_context(self) -> dict:
        # The link is built on PUBLIC_URL, never on the Host header a request claims.
        return {"public_url": settings.PUBLIC_URL}

    def form_valid(self, form: ResetForm) -> HttpResponse:
        """Send the link unless a limit holds; a full address looks sent, a busy client waits."""
        now = timezone.now()
        email, client = form.cleaned_data["email"], client_address(self.request)
        try:
            allowed = reset_mail_take(email=email, client=client, now=now)
        except Limited as limited:
            return _paused(self.request, limited, now)
        if not allowed:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def _paused(request: HttpRequest, limited: Limited, now: dt.datetime) -> HttpResponse:
    seconds = limited.retry_after(now)
    context = {"until": limited.until, "minutes": math.ceil(seconds / 60)}
    response = render(request, "web/password_reset_paused.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


class ResetSent(auth.PasswordResetDoneView):
    template_name = "web/password_reset_sent.html"


class SetPassword(auth.PasswordResetConfirmView):
    template_name = "web/password_set.html"
    success_url = reverse_lazy("web:password_set_done")


class PasswordSet(auth.PasswordResetCompleteView):
    template_name = "web/password_set_done.html"
