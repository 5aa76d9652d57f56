"""Celery task routing: one queue per kind of work, so a slow channel cannot delay another.

Routes go by task name (callers never name a queue): ingestion follow-ups, escalation (and the
sweeper), delivery per channel (the channel read from the notification being delivered), and
background work that calls slow outside servers (handoff notices), and calendar refreshes on
their own queue (a hostile or huge calendar must not hold up anything else).
A worker started without `-Q` consumes every queue listed here (`make run`, the tests); deploy/
runs separate pools, e.g. `-Q deliver.sms,deliver.voice,deliver.push` apart from
`-Q deliver.email,background,calendars`.
"""

from kombu import Queue

DEFAULT_QUEUE = "celery"
INGEST_QUEUE = "ingest"
ESCALATION_QUEUE = "escalation"
BACKGROUND_QUEUE = "background"
CALENDAR_QUEUE = "calendars"
CHANNELS = ("sms", "voice", "email", "push")
QUEUE_NAMES = (
    INGEST_QUEUE,
    ESCALATION_QUEUE,
    *(f"deliver.{c}" for c in CHANNELS),
    BACKGROUND_QUEUE,
    CALENDAR_QUEUE,
    DEFAULT_QUEUE,
)
QUEUES = tuple(Queue(name, routing_key=name) for name in QUEUE_NAMES)


def channel_queue(kind: str) -> str:
    """Return the delivery queue of contact kind `kind` (SMS for anything unknown)."""
    return f"deliver.{kind}" if kind in CHANNELS else "deliver.sms"


def delivery_queue(notification_id: object) -> str:
    """Return the delivery queue of the notification's channel, read from the database.

    Only for callers that did not name the queue: most pass `queue=channel_queue(kind)`.
    """
    from django.db import DatabaseError

    from paging.models import Notification

    try:
        rows = Notification.objects.filter(pk=notification_id).values_list("kind", flat=True)
        kind = rows.first()
    except DatabaseError:  # the task itself will meet the same fault and be retried or swept
        kind = None
    return channel_queue(kind)


def route(name: str, args: tuple, kwargs: dict, options: dict, task=None, **kw) -> dict | None:
    """Return the queue for task `name` (Celery's router interface)."""
    if options.get("queue"):
        return None  # the caller named it (it knew the channel): no query needed
    if name.startswith("paging.deliver"):
        return {"queue": delivery_queue(args[0] if args else kwargs.get("notification_id"))}
    if name.startswith(("paging.escalate", "paging.sweep")):
        return {"queue": ESCALATION_QUEUE}
    if name.startswith(("paging.ingest", "paging.heartbeat", "paging.alert")):
        return {"queue": INGEST_QUEUE}
    if name == "schedules.refresh_calendars":
        return {"queue": CALENDAR_QUEUE}
    if name.startswith(("schedules.", "paging.handoff")):
        return {"queue": BACKGROUND_QUEUE}
    return None


def queue_depths() -> dict[str, int]:
    """Return how many messages wait in each queue (Redis broker; empty otherwise)."""
    from celery import current_app

    if not current_app.conf.broker_url.startswith(("redis://", "rediss://")):
        return {}
    with current_app.connection_for_read() as connection:
        client = connection.default_channel.client
        # kombu keeps priority levels in sibling lists named <queue>\x06\x16<priority>.
        sep = "\x06\x16"
        return {
            name: sum(client.llen(key) for key in [name, *(f"{name}{sep}{p}" for p in (3, 6, 9))])
            for name in QUEUE_NAMES
        }
