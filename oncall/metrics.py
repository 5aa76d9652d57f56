"""Prometheus metrics: what the service does, scraped at `/metrics`.

Web and worker processes count into prometheus-client's multiprocess files when
`PROMETHEUS_MULTIPROC_DIR` is set (every gunicorn and Celery process on a host shares one
directory), so one scrape of any web process sees the workers' counts too. Where workers run on
other hosts (Kubernetes pods), `WORKER_METRICS_PORT` makes each worker serve its own counts.
Gauges that describe shared state (incidents by state, queue depths) are read at scrape time.
"""

import datetime as dt
import hmac
import logging
import os
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import Count
from django.db.models.signals import post_init, post_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

ALERTS = Counter(
    "oncall_alerts_received",
    "Alert webhook requests, by integration kind and outcome (accepted, refused, failed).",
    ["kind", "outcome"],
)
NOTIFICATIONS = Counter(
    "oncall_notifications",
    "Notifications by channel and outcome (sent, delivered, failed).",
    ["channel", "outcome"],
)
TIME_TO_FIRST_PAGE = Histogram(
    "oncall_time_to_first_page_seconds",
    "From an incident opening to its first notification sent.",
    buckets=(1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800),
)
ESCALATION_LATENESS = Histogram(
    "oncall_escalation_lateness_seconds",
    "How long after its due time an escalation step ran.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
SWEEPER_CATCHUPS = Counter(
    "oncall_sweeper_catchups",
    "Work the sweeper found that a lost task missed, by kind.",
    ["kind"],
)

SWEEPER_LAST_RUN = Gauge(
    "oncall_sweeper_last_run_timestamp_seconds",
    "When a sweep last finished (Unix time); alert when it falls minutes behind: beat or the "
    "core pool is down, and lost work is no longer caught up.",
    multiprocess_mode="max",
)

_NOTIFICATION_OUTCOMES = {"sent", "delivered", "failed"}


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


# --- Recording ---------------------------------------------------------------------------------


def alert_received(kind: str, status: int) -> None:
    """Count one alert webhook request by its answer's status."""
    outcome = "accepted" if status < 400 else "refused" if status < 500 else "failed"
    ALERTS.labels(kind=kind, outcome=outcome).inc()


def escalation_ran(lateness: dt.timedelta) -> None:
    """Observe how late an escalation step ran."""
    ESCALATION_LATENESS.observe(max(lateness.total_seconds(), 0.0))


def sweep_recorded(result: dict[str, int]) -> None:
    """Count what one sweep caught up on, and note that it ran."""
    SWEEPER_LAST_RUN.set_to_current_time()
    for kind, count in result.items():
        if count:
            SWEEPER_CATCHUPS.labels(kind=kind).inc(count)


def _notification_loaded(sender, instance, **kwargs) -> None:
    """Remember the status a notification had when loaded, to see it change on save."""
    instance._metrics_status = instance.__dict__.get("status")  # never load a deferred field


def _notification_saved(sender, instance, created=False, **kwargs) -> None:
    """Count a notification's move to sent, delivered or failed, however it was saved."""
    before = None if created else getattr(instance, "_metrics_status", None)
    after = instance.__dict__.get("status")
    instance._metrics_status = after
    if after == before or after not in _NOTIFICATION_OUTCOMES:
        return
    NOTIFICATIONS.labels(channel=instance.kind, outcome=after).inc()
    if after == "sent":
        _first_page(instance)


def _first_page(notification) -> None:
    """Observe time to first page when this is the incident's first notification sent."""
    if notification.incident_id is None:
        return  # a handoff notice: no incident, no page
    others = (
        type(notification)
        .objects.filter(incident_id=notification.incident_id, status__in=("sent", "delivered"))
        .exclude(pk=notification.pk)
    )
    if others.exists():
        return
    opened = notification.incident.created_at
    TIME_TO_FIRST_PAGE.observe(max((timezone.now() - opened).total_seconds(), 0.0))


def connect() -> None:
    """Connect the signal handlers that count; called once from the app config."""
    from celery.signals import task_postrun, worker_process_shutdown, worker_ready

    from paging.models import Notification

    post_init.connect(_notification_loaded, sender=Notification, dispatch_uid="metrics")
    post_save.connect(_notification_saved, sender=Notification, dispatch_uid="metrics")
    task_postrun.connect(_task_finished, dispatch_uid="metrics")
    worker_ready.connect(_worker_ready, dispatch_uid="metrics")
    worker_process_shutdown.connect(_process_gone, dispatch_uid="metrics")


def _task_finished(sender=None, task=None, retval=None, **kwargs) -> None:
    if task is not None and task.name == "paging.sweep" and isinstance(retval, dict):
        sweep_recorded(retval)


def _process_gone(pid: int | None = None, **kwargs) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid or os.getpid())


def _worker_ready(**kwargs) -> None:
    """Serve this worker's counts on WORKER_METRICS_PORT, for hosts without a web process."""
    port = settings.WORKER_METRICS_PORT
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=_process_registry())
        log.info("worker metrics on port %d", port)


# --- Scraping ----------------------------------------------------------------------------------


def _incidents_by_state() -> Metric:
    from paging.models import Incident, IncidentStatus

    family = GaugeMetricFamily("oncall_incidents", "Incidents by state.", labels=["state"])
    counts = dict.fromkeys(IncidentStatus.values, 0)
    counts.update(Incident.objects.values_list("status").annotate(n=Count("pk")).order_by())
    for state, count in counts.items():
        family.add_metric([state], count)
    return family


def _queue_depth() -> Metric:
    from oncall.routing import queue_depths

    family = GaugeMetricFamily(
        "oncall_celery_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
    )
    for queue, depth in queue_depths().items():
        family.add_metric([queue], depth)
    return family


class _Static(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


def _process_registry() -> CollectorRegistry:
    """Return a registry of the counters: all processes' files, or this process's own."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def scrape() -> bytes:
    """Return the text exposition of every metric, shared-state gauges included."""
    registry = CollectorRegistry()
    registry.register(_Forward(_process_registry()))
    families = []
    for read in (_incidents_by_state, _queue_depth):
        try:
            families.append(read())
        except Exception:  # a database or broker fault must not hide the counters
            log.warning("metrics: %s unavailable", read.__name__.strip("_"), exc_info=True)
    registry.register(_Static(families))
    return generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve `/metrics`; with METRICS_TOKEN set, only to `Authorization: Bearer <token>`."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)


class AlertMetricsMiddleware:
    """Count alert webhook requests by integration kind and outcome."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and match.url_name in ("integration-webhook", "pagerduty-enqueue"):
            default = "pagerduty_v2" if match.url_name == "pagerduty-enqueue" else "unknown"
            alert_received(getattr(request, "integration_kind", default), response.status_code)
        return response
