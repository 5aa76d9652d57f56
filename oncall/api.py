"""The REST API's routes under /api/v1/, its schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import ApiTokenViewSet, TeamViewSet
from audit.api import AuditEntryViewSet
from escalation.api import EscalationPolicyViewSet
from paging.api.incidents import IncidentViewSet
from paging.api.people import ContactMethodViewSet, NotificationRuleViewSet, UserViewSet
from paging.api.services import IntegrationViewSet, MaintenanceWindowViewSet, ServiceViewSet
from schedules.api import CalendarFeedViewSet, OverrideViewSet, ScheduleViewSet


class IdRouter(DefaultRouter):
    """DRF's router, with object URLs that take whole-number ids only (or what a viewset says)."""

    def get_lookup_regex(self, viewset, lookup_prefix: str = "") -> str:
        # DRF's default, [^/.]+, let `/incidents/12%0D/` through to a lookup, and int("12\r")
        # is 12: a mangled id named an object. Our viewsets look up by their integer pk; teams
        # also by slug, and say so in `lookup_value_regex` (letters, digits, - and _ only).
        kwarg = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        value = getattr(viewset, "lookup_value_regex", "[0-9]+")
        return f"(?P<{lookup_prefix}{kwarg}>{value})"


router = IdRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("services", ServiceViewSet, basename="service")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenancewindow")
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("escalation-policies", EscalationPolicyViewSet, basename="escalationpolicy")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("overrides", OverrideViewSet, basename="override")
router.register("calendar-feeds", CalendarFeedViewSet, basename="calendarfeed")
router.register("users", UserViewSet, basename="user")
router.register("contact-methods", ContactMethodViewSet, basename="contactmethod")
router.register("notification-rules", NotificationRuleViewSet, basename="notificationrule")
router.register("api-tokens", ApiTokenViewSet, basename="apitoken")
router.register("teams", TeamViewSet, basename="team")

# Read-only and for managers and site admins, not the model-permission rules of the routes above
# (tests/test_api_roles.py walks those): its own router, with its own tests (tests/audit/).
audit_router = IdRouter()
audit_router.include_root_view = False  # the API root above is the one
audit_router.register("audit-log", AuditEntryViewSet, basename="auditentry")

urlpatterns = [
    path("", include(router.urls)),
    path("", include(audit_router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split: the page's script comes from `?script`, so the Content-Security-Policy needs no
    # inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="oncall/swagger_ui.html"
        ),
        name="api-docs",
    ),
]
