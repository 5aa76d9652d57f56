"""Show pages in the viewer's own time zone (their `time_zone`, else the site's)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone


def viewer_zone(user) -> ZoneInfo:
    """Return the zone `user` reads times in: their own, else the site's TIME_ZONE."""
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):  # a name no longer in this server's tzdata
        return ZoneInfo(settings.TIME_ZONE)


def in_viewer_zone(view):
    """Mark a page view whose times render in the signed-in viewer's zone (see the middleware)."""
    view.in_viewer_zone = True
    return view


class ViewerTimeZoneMiddleware:
    """Activate the signed-in viewer's zone for admin and for views marked `in_viewer_zone`.

    Not for the API: its times are ISO 8601 instants that scripts read, in UTC.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs) -> None:
        user = getattr(request, "user", None)
        zoned = request.path.startswith("/admin/") or getattr(view_func, "in_viewer_zone", False)
        if zoned and user and user.is_authenticated:
            timezone.activate(viewer_zone(user))
