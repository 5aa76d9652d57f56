"""`/sso/login/` and `/sso/callback/`: single sign-on's two pages, 404 while it is off."""

import logging

import jwt
import requests
from django.contrib import admin
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.sso import SSOError, discovery, sso_configured

logger = logging.getLogger("accounts.sso")

# What a provider's answer can make the protocol code raise: each is a refused sign-in.
_REFUSALS = (
    SSOError,
    SuspiciousOperation,
    requests.RequestException,
    jwt.PyJWTError,
    IntegrityError,
    KeyError,
    TypeError,
    ValueError,
)


def refused(request: HttpRequest, public: str, reason: str) -> HttpResponse:
    """Log why a single sign-on failed and tell the person in plain words (403)."""
    logger.warning("single sign-on refused: %s", reason)
    context = {**admin.site.each_context(request), "message": public, "title": "Not signed in"}
    return render(request, "accounts/sso_refused.html", context, status=403)


def _refusal(request: HttpRequest, exc: Exception) -> HttpResponse:
    public = getattr(exc, "public", SSOError.public)
    return refused(request, public, f"{type(exc).__name__}: {exc}")


class SSOLogin(OIDCAuthenticationRequestView):
    """Send the person to the provider, remembering a safe `next`."""

    def __init__(self, **kwargs) -> None:
        # mozilla's __init__ reads the authorization endpoint from settings; ours is discovered.
        View.__init__(self, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_configured():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery()["authorization_endpoint"]
        except SSOError as exc:
            return _refusal(request, exc)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_CLIENT_ID")
        return super().get(request)


class SSOCallback(OIDCAuthenticationCallbackView):
    """Finish the sign-in the provider sent back, or say why not."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_configured():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except _REFUSALS as exc:
            return _refusal(request, exc)

    @property
    def success_url(self) -> str:
        # mozilla kept `next` only after url_has_allowed_host_and_scheme passed it.
        return self.request.session.get("oidc_login_next") or reverse("admin:index")

    def login_failure(self) -> HttpResponse:
        error = self.request.GET.get("error", "")
        reason = f"the provider answered {error!r}" if error else "no sign-in under way"
        public = "The single sign-on provider did not sign you in. Please try again."
        return refused(self.request, public, reason[:200])


urlpatterns = [
    path("login/", SSOLogin.as_view(), name="sso_login"),
    path("callback/", SSOCallback.as_view(), name="sso_callback"),
]
