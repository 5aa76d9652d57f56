"""Top-level URL routes."""

from django.contrib import admin
from django.urls import include, path

from oncall.home import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("sso/", include("accounts.sso_views")),
    path("api/v1/", include("oncall.api")),
    path("", include("paging.urls")),
    path("", include("schedules.urls")),
]
