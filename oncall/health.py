"""Liveness and readiness probes, answered before host checks and HTTPS redirects.

Orchestrators probe a pod by its IP over plain HTTP, so these paths must not depend on
`ALLOWED_HOSTS` or `SECURE_SSL_REDIRECT`: a middleware at the top of the stack answers them.
"""

from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

_migrations_applied = False


def database_ok() -> str | None:
    """Return why the database is unreachable, or None."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return None


def migrations_ok() -> str | None:
    """Return how many migrations are unapplied, or None once all are (remembered after)."""
    global _migrations_applied
    if _migrations_applied:
        return None
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return f"unknown: {exc.__class__.__name__}"
    if pending:
        return f"{len(pending)} unapplied"
    _migrations_applied = True
    return None


def broker_ok() -> str | None:
    """Return why the Celery broker is unreachable, or None."""
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    if url.startswith(("filesystem://", "memory://")):
        return None  # embedded: nothing to reach
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            connection.default_channel  # noqa: B018 - Redis connects lazily; a channel talks
    except Exception as exc:  # kombu raises many kinds; any of them means not ready
        return f"unreachable: {exc.__class__.__name__}"
    return None


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process serves requests; touches no dependency."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when database, broker and migrations are ready; 503 naming what is not."""
    checks = {"database": database_ok()}
    checks["migrations"] = migrations_ok() if checks["database"] is None else "unknown"
    checks["broker"] = broker_ok()
    failing = {name: why for name, why in checks.items() if why is not None}
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(checks, "ok")})


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class ProbeMiddleware:
    """Answer the probe paths (and /metrics) directly; pass everything else on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/") or "/")
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        if request.path_info == "/metrics" and request.method == "GET":
            from oncall.metrics import metrics_view

            return metrics_view(request)
        return self.get_response(request)
