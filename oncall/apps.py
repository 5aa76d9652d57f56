"""The project's own app: wires metrics and request ids into Django and Celery signals."""

import logging

from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "Operations"

    def ready(self) -> None:
        from oncall import metrics, requestid  # noqa: F401 - requestid connects on import

        metrics.connect()
        # Python warnings (Celery's, libraries') become log records in the configured format.
        logging.captureWarnings(True)
