"""The interface every channel implements."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paging.models import Notification


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


class Channel:
    """Sends one notification and returns the provider's id for it.

    `send` raises DeliveryError; a provider that reports delivery later calls us back at
    `/twilio/status/<notification id>/`. `provider_status` is what the provider said on accepting.
    `find_sent` asks the provider whether a send whose answer we never got went out after all.
    """

    name = "base"
    provider_status = "sent"

    def send(self, notification: "Notification") -> str:
        raise NotImplementedError

    def find_sent(self, notification: "Notification") -> str | None:
        """Return the provider's id of this notification if it already has it; raise DeliveryError.

        Channels that cannot tell answer None, and the notification is sent again.
        """
        return None
