"""Show admin pages in the viewer's own time zone (their `time_zone`, else the site's)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone


def viewer_zone(user) -> ZoneInfo:
    """Return the zone `user` reads times in: their own, else the site's TIME_ZONE."""
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):  # a name no longer in this server's tzdata
        return ZoneInfo(settings.TIME_ZONE)


class ViewerTimeZoneMiddleware:
    """Activate the signed-in admin's zone for admin requests, so every time renders in it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if not (request.path.startswith("/admin/") and user and user.is_authenticated):
            return self.get_response(request)
        timezone.activate(viewer_zone(user))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
