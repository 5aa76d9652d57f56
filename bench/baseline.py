"""The ceiling to compare ingestion with: a bare Django view that parses JSON and does one INSERT.

Served by the same gunicorn setup as the real service (`bench.baseline:application`), against a
table of its own in the benchmark database.
"""

import json
import os

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, body jsonb NOT NULL, "
    "received_at timestamptz NOT NULL DEFAULT now())"
)


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    """Store the body in one INSERT and answer 202."""
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_insert (body) VALUES (%s)", [json.dumps(body)])
    return JsonResponse({"status": "accepted"}, status=202)


urlpatterns = [path("bench/insert/", insert)]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
django.setup()
settings.ROOT_URLCONF = __name__
application = get_wsgi_application()
