"""What every channel shares: the interface, the error it raises, and redaction helpers."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from vp_monitor.alerts.notification import Message

REDACTED = "<redacted>"


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


class ChannelSection(BaseModel):
    """Base of channel settings: unknown keys are errors."""

    # Local base rather than vp_monitor.config.Section: config embeds these models,
    # so importing config from here would make a cycle.
    model_config = ConfigDict(extra="forbid", frozen=True)


def redact_url(url: str) -> str:
    """Scheme, host and port only: paths and queries of webhook URLs often carry tokens."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"


def scrub(text: str, secrets: list[str | None]) -> str:
    """`text` with every non-empty secret replaced by a marker (longest first)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def url_secrets(url: str) -> list[str | None]:
    """The parts of a URL that must not be shown: the URL itself, password, query, long path."""
    try:
        parts = urlsplit(url)
        found = [url, parts.password, parts.query]
    except ValueError:
        return [url]
    # A path such as /hooks/T000/B000/XXXX is as secret as a query token; short paths like
    # /hook are not, and scrubbing them would garble the error text.
    if len(parts.path) >= 8:
        found.append(parts.path)
    return found
