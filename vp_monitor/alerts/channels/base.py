"""What every channel shares: the interface, the error it raises."""

from __future__ import annotations

from typing import Protocol

from vp_monitor.alerts.notification import Message


class DeliveryError(Exception):
    """A notification was not delivered; `retryable` tells the outbox whether to try again."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        kind = "temporary" if self.retryable else "permanent"
        return f"{self.message} ({kind})"


class Channel(Protocol):
    """A way to deliver a notification: returns when delivered, raises DeliveryError if not.

    Any other exception is a bug in the channel, not a delivery failure.
    """

    async def send(self, notification: Message) -> None:
        """Deliver one notification (or report) within the channel's time-out."""
        ...
