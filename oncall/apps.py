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
        # Python warnings (Celery's, libraries') become log records in the configured format.
        logging.captureWarnings(True)


class OncallAdminConfig(AdminConfig):
    """Django's admin, serving our site (its front page) as `admin.site`."""

    default_site = "oncall.admin_site.OncallAdminSite"
