"""Celery task names are a deployed contract: queued messages and beat entries name them."""

from oncall.celery import app

# A queued message, or beat's schedule, still names these after any move of modules.
TASK_NAMES = {
    "audit.prune",
    "paging.deliver",
    "paging.escalate",
    "paging.handoff_notices",
    "paging.replies_prune",
    "paging.sweep",
    "schedules.refresh_calendars",
}


def test_registered_task_names_are_the_deployed_set():
    app.loader.import_default_modules()

    assert {name for name in app.tasks if not name.startswith("celery.")} == TASK_NAMES


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()

    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= TASK_NAMES


def test_every_contact_kind_is_delivered_from_a_queue_of_its_own():
    """A new channel must not share SMS's queue by default: a slow one would delay SMS pages."""
    from oncall.routing import QUEUE_NAMES, channel_queue
    from paging.models import ContactKind

    queues = {kind: channel_queue(kind) for kind in ContactKind.values}

    assert len(set(queues.values())) == len(queues), queues
    assert set(queues.values()) <= set(QUEUE_NAMES)
