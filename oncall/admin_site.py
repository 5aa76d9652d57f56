"""Our admin site: the stock one, with a front page that starts with what matters now."""

from zoneinfo import ZoneInfo

from django.contrib import admin
from django.utils import timezone

from accounts.admin_access import may_use_admin
from oncall.admin_front import front_page


def viewer_zone(user) -> str:
    """Return the viewer's own time zone, or UTC when theirs is not a zone we know."""
    zone = getattr(user, "time_zone", "") or "UTC"
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):  # a name that validation let through once: show UTC
        return "UTC"
    return zone


class OncallAdminSite(admin.AdminSite):
    site_header = "On-call administration"
    site_title = "On-call"
    # No public site exists yet (the responder app is to come): "View site" opens the API docs.
    site_url = "/api/v1/docs/"

    def has_permission(self, request) -> bool:
        """Let in active staff and active managers of any team (responders: not yet)."""
        return may_use_admin(request.user)

    def index(self, request, extra_context=None):
        """Show the front page's summary, of what the viewer may read, above the apps."""
        now = timezone.now()
        context = front_page(user=request.user, now=now, zone=viewer_zone(request.user))
        return super().index(request, {**context, **(extra_context or {})})
