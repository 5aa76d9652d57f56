"""Top-level URL routes: the responder app at `/`, admin, the API, webhooks and feeds."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sso/", include("accounts.sso_views")),
    path("api/v1/", include("oncall.api")),
    path("", include("web.urls")),
    path("", include("paging.urls")),
    path("", include("schedules.urls")),
]
