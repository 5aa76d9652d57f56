"""Top-level URL routes."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "On-call administration"
admin.site.site_title = "On-call"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("oncall.api")),
    path("", include("paging.urls")),
    path("", include("schedules.urls")),
]
