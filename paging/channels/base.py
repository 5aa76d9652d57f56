"""The interface every channel implements."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paging.models import Notification


class DeliveryError(Exception):
    """A provider refused or failed; `permanent` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class Channel:
    """Sends one notification and returns the provider's id for it.

    `send` raises DeliveryError; a provider that reports delivery later calls us back at
    `/twilio/status/<notification id>/`. `provider_status` is what the provider said on accepting.
    """

    name = "base"
    provider_status = "sent"

    def send(self, notification: "Notification") -> str:
        raise NotImplementedError
