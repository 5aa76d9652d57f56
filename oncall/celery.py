"""The Celery app shared by web (to enqueue), workers and beat."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

app = Celery("oncall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_sweeper(sender: Celery, **kwargs) -> None:
    """Run the sweeper that re-finds due escalations and notifications whose task was lost."""
    from django.conf import settings

    interval = float(settings.SWEEP_INTERVAL_SECONDS)
    # A sweep still queued when the next one is sent is dropped: the next one does its work.
    sweep = sender.signature("paging.sweep", options={"expires": interval})
    sender.add_periodic_task(interval, sweep, name="sweep")
    # Both pick out what is due themselves, so a minute's tick is enough.
    sender.add_periodic_task(
        60.0, sender.signature("schedules.refresh_calendars"), name="refresh calendars"
    )
    sender.add_periodic_task(60.0, sender.signature("paging.handoff_notices"), name="handoffs")
    # Housekeeping: codes and handled SMS are looked up by key, so old rows only cost space.
    sender.add_periodic_task(
        3600.0, sender.signature("paging.replies_prune"), name="prune SMS replies"
    )
    sender.add_periodic_task(3600.0, sender.signature("audit.prune"), name="prune the audit log")


@worker_init.connect
def _refuse_a_setup_checks_refuse(**kwargs) -> None:
    """Exit before consuming anything if Django's system checks find an error.

    Celery's Django fix-up runs the checks at worker start but drops what they find, and a
    signal handler's exception is only logged: SystemExit is what stops the worker.
    """
    import django
    from django.core.management.base import SystemCheckError

    from oncall.startup import system_checks_pass

    django.setup()
    try:
        system_checks_pass()
    except SystemCheckError as exc:
        raise SystemExit(str(exc)) from None
