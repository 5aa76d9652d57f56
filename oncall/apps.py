"""The project's own app: wires metrics and request ids into Django and Celery signals."""

import logging

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "Operations"

    def ready(self) -> None:
        from oncall import metrics, requestid  # noqa: F401 - requestid connects on import

        metrics.connect()
        durations_in_admin()
        # Python warnings (Celery's, libraries') become log records in the configured format.
        logging.captureWarnings(True)


class OncallAdminConfig(AdminConfig):
    """Django's admin, serving our site (its front page) as `admin.site`."""

    default_site = "oncall.admin_site.OncallAdminSite"


def durations_in_admin() -> None:
    """Make every admin duration field read and show `1h30m` (oncall/durations.py)."""
    from django.contrib import admin
    from django.contrib.admin import options
    from django.db import models

    from oncall.durations import DurationFormField

    written = {"form_class": DurationFormField}
    # Inlines copy these defaults when built (per request); model admins copied them when they
    # were registered, before this app's ready(), so they are given the field too.
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DurationField] = written
    for model_admin in admin.site._registry.values():
        model_admin.formfield_overrides.setdefault(models.DurationField, written)
