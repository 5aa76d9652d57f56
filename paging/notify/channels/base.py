"""The interface every channel implements."""

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paging.models import Notification

log = logging.getLogger(__name__)

# The provider status of a page printed on the console: it reached no one.
PRINTED = "printed"


class DeliveryError(Exception):
    """A provider refused or failed; `permanent` errors are not retried."""

    def __init__(
        self, message: str, *, permanent: bool, code: int | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        # The request may have reached the provider (no answer came back): it may have sent it.
        self.maybe_sent = maybe_sent


def delivery_error(exc: Exception) -> DeliveryError:
    """Return what a channel raised as a DeliveryError, whatever it was.

    An error no channel expected is permanent (a retry would most likely meet it again), except
    a network error, which may pass; either way the page is failed or retried, never left stuck.
    """
    if isinstance(exc, DeliveryError):
        return exc
    log.error("unexpected error from a channel", exc_info=exc)
    message = f"unexpected {type(exc).__name__}: {exc}"[:300]
    # A connection that broke mid-request may have carried the send: ask before sending again.
    transient = isinstance(exc, OSError)
    return DeliveryError(message, permanent=not transient, maybe_sent=transient)


class Channel:
    """Sends one notification and returns the provider's id for it.

    `send` raises DeliveryError; a provider that reports delivery later calls us back at
    `/twilio/status/<notification id>/`. `provider_status` is what the provider said on accepting.
    `find_sent` asks the provider whether a send whose answer we never got went out after all.
    """

    name = "base"
    provider_status = "sent"

    def printed_because(self) -> str:
        """Return why this channel prints its messages instead of sending them; "" if it sends."""
        return ""

    def timeout(self) -> float:
        """Return the most seconds one request to the provider takes (connecting included)."""
        return 0.0

    def send(self, notification: "Notification") -> str:
        raise NotImplementedError

    def find_sent(self, notification: "Notification") -> str | None:
        """Return the provider's id of this notification if it already has it; raise DeliveryError.

        Channels that cannot tell answer None, and the notification is sent again.
        """
        return None
