"""Enqueueing Celery work after commit, without ever failing the request that caused it.

The database holds every piece of due work (an incident's `escalation_due_at`, a notification's
`due_at`), so a message the broker never got is only late, not lost: the sweeper finds it.
"""

import datetime as dt
import logging
import time

from celery import current_app
from django.db import transaction

from oncall.routing import channel_queue

log = logging.getLogger(__name__)

# After a failed publish, skip the broker this long: with it down, every webhook would otherwise
# wait out connection retries before answering, and the sweeper sends the work anyway.
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def enqueue(
    task: str, *args: object, eta: dt.datetime | None = None, queue: str | None = None
) -> None:
    """Send task `task` now (or at `eta`); on a broker failure log and leave it to the sweeper.

    `queue` overrides the routing (oncall/routing.py) when the caller already knows it.
    """
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        log.debug("broker marked down, %s%r left to the sweeper", task, args)
        return
    try:
        options = {"queue": queue} if queue else {}
        current_app.send_task(task, args=args, eta=eta, **options)
    except Exception as exc:  # the broker can fail in many ways; the sweeper covers them all
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning("broker unavailable, %s%r left to the sweeper: %s", task, args, exc)


def enqueue_on_commit(
    task: str, *args: object, eta: dt.datetime | None = None, queue: str | None = None
) -> None:
    """Send the task once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(task, *args, eta=eta, queue=queue))


def deliver_later(notification, *, eta: dt.datetime | None = None, on_commit: bool = False) -> None:
    """Enqueue the notification's delivery on its channel's queue (no lookup to route it)."""
    send = enqueue_on_commit if on_commit else enqueue
    send("paging.deliver", notification.pk, eta=eta, queue=channel_queue(notification.kind))
