"""Webhook formats: one module per format, each with a pure `parse(body, headers)`."""

from paging.integrations import generic
from paging.integrations.base import Event, PayloadError

PARSERS = {
    "generic": generic.parse,
}

__all__ = ["PARSERS", "Event", "PayloadError"]
