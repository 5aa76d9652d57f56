"""`/`: until the responder app exists, it leads to admin, through sign-in when needed."""

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


def home(request: HttpRequest) -> HttpResponse:
    """Send signed-in staff to admin and everyone else to admin's sign-in page."""
    admin_url = reverse("admin:index")
    if request.user.is_active and request.user.is_staff:
        return redirect(admin_url)
    return redirect_to_login(admin_url, login_url=reverse("admin:login"))
