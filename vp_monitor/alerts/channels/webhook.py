"""Webhook channel: POST the versioned JSON payload, signed with the recipient's secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import aiohttp

from vp_monitor.alerts.channel_settings import WebhookSettings
from vp_monitor.alerts.channels.base import DeliveryError
from vp_monitor.alerts.notification import Message
from vp_monitor.redaction import redact, url_origin, url_secrets

log = logging.getLogger(__name__)

# Failures of the transport itself: the receiver may be back in a minute, so retry.
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)
# 408/429 ask the client to come back later; 5xx is the receiver's own trouble.
RETRYABLE_STATUSES = frozenset({408, 429})


def sign(body: bytes, secret: str) -> str:
    """The X-VP-Signature value: "sha256=" + hex HMAC-SHA256 of the exact body bytes."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers_for(notification: Message, body: bytes, user_agent: str) -> dict[str, str]:
    """Request headers: content type, idempotency key, incident ids, signature if a secret."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": user_agent,
        "X-VP-Idempotency-Key": notification.idempotency_key,
    }
    if notification.incident_ids:
        headers["X-VP-Incident-Ids"] = ",".join(notification.incident_ids)
    if notification.recipient.secret:
        headers["X-VP-Signature"] = sign(body, notification.recipient.secret)
    return headers


def is_retryable(status: int) -> bool:
    """Whether an HTTP status means "try again later"."""
    return status >= 500 or status in RETRYABLE_STATUSES


class WebhookChannel:
    """Delivers notifications by HTTP POST."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    async def send(self, notification: Message) -> None:
        """POST the payload; 2xx is success, anything else raises DeliveryError."""
        url = notification.recipient.address
        where = f"webhook {url_origin(url)}"
        if not url.startswith(("http://", "https://")):
            raise DeliveryError(f"{where}: not an http(s) URL", retryable=False)
        body = notification.to_json().encode()
        headers = headers_for(notification, body, self.settings.user_agent)
        try:
            status, reason = await self._post(url, body, headers)
        except TRANSPORT_ERRORS as exc:
            detail = redact(str(exc), url_secrets(url)) or "timed out"
            # "from None": a traceback of the cause could print the URL with its tokens.
            raise DeliveryError(
                f"{where}: {type(exc).__name__}: {detail}",
                retryable=not isinstance(exc, aiohttp.InvalidURL),
            ) from None
        if not 200 <= status < 300:
            # The response body is not quoted: a receiver may echo our headers back.
            raise DeliveryError(f"{where}: HTTP {status} {reason}", retryable=is_retryable(status))
        log.debug("%s: delivered %s", where, notification.idempotency_key)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        async with asyncio.timeout(self.settings.timeout_s):
            async with aiohttp.ClientSession(timeout=timeout) as session:
                # Redirects are not followed: they would send the signed body elsewhere.
                async with session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    return response.status, response.reason or ""


def build(settings: WebhookSettings) -> WebhookChannel:
    """A webhook channel from its settings."""
    return WebhookChannel(settings)
