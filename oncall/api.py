"""The REST API's routes under /api/v1/, its schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from paging.api import IncidentViewSet, IntegrationViewSet
from schedules.api import CalendarFeedViewSet, OverrideViewSet, ScheduleViewSet

router = DefaultRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("overrides", OverrideViewSet, basename="override")
router.register("calendar-feeds", CalendarFeedViewSet, basename="calendarfeed")

urlpatterns = [
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
