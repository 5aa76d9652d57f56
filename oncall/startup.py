"""Start-up checks for the processes that Django's commands do not start (gunicorn, Celery)."""

from django.core.management.base import BaseCommand


def system_checks_pass() -> None:
    """Run Django's system checks as runserver does: warnings to stderr, errors raised.

    Raises SystemCheckError (an Exception, so gunicorn halts on "Worker failed to boot" instead
    of starting a new worker forever) with the same text `manage.py check` prints.
    """
    BaseCommand().check()
