"""The interface every channel implements."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paging.models import Notification


class DeliveryError(Exception):
    """A provider refused or failed; `permanent` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel:
    """Sends one notification and returns the provider's id for it."""

    name = "base"

    def send(self, notification: "Notification") -> str:
        raise NotImplementedError
