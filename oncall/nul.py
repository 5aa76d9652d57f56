"""Refuse a NUL (`%00`) in a URL before any view looks it up: 404 in the path, 400 in the query.

PostgreSQL refuses NUL in any text it is sent, so a NUL that reached a lookup (an integration
key, a calendar token, a list filter) was a 500, or on a webhook a 503 that senders retry
forever. No key, token, id or filter value holds one, so one check here covers every route.
"""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

NUL = "\x00"


def _bad_parameter(request: HttpRequest) -> str | None:
    """Return the name of the first query parameter with a NUL in its name or a value."""
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return name
    return None


class RefuseNulMiddleware:
    """Answer a NUL in the path with 404 and one in a query parameter with 400 naming it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        # Once the URL is resolved (not before), so the alert metrics count a NUL integration
        # key as what it is: an unknown key, refused.
        if NUL in request.path_info:
            raise Http404("no such page")
        name = _bad_parameter(request)
        if name is None:
            return None
        body = {"error": "invalid query parameter", "field": name, "message": "contains NUL (%00)"}
        return JsonResponse(body, status=400)
