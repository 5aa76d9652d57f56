"""The iCal feed endpoint: `GET /calendar/<token>.ics`, with ETag / If-None-Match."""

import hashlib

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.people import may_act
from schedules.feeds import feed_ics
from schedules.models import CalendarFeed


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a feed's shifts; 404 if unknown, revoked or a deactivated person's; 304 unchanged."""
    feed = (
        CalendarFeed.objects.select_related("user", "schedule")
        .filter(
            Q(user__isnull=True) | may_act("user"),
            Q(created_by__isnull=True) | may_act("created_by"),
            token=token,
            revoked_at__isnull=True,
        )
        .first()
    )
    if feed is None:
        raise Http404("no such calendar")
    body = feed_ics(feed, timezone.now())
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
    wanted = {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return HttpResponseNotModified(headers=headers)
    return HttpResponse(body, content_type="text/calendar; charset=utf-8", headers=headers)
