"""The Django project: settings, URLs, the Celery app and WSGI entry point."""

from oncall.celery import app as celery_app

__all__ = ["celery_app"]
