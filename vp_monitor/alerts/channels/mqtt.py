"""MQTT channel: one message per incident event, plus each camera's state, retained."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import aiomqtt

from vp_monitor.alerts.channel_settings import MqttSettings
from vp_monitor.alerts.channels.base import DeliveryError
from vp_monitor.alerts.notification import IncidentEvent, Message, Notification, Report
from vp_monitor.redaction import redact

log = logging.getLogger(__name__)

# CONNACK codes meaning "your credentials are wrong": retrying will not help.
# MQTT 3.1.1: 4 bad user name or password, 5 not authorised; MQTT 5: 134, 135.
AUTH_REFUSED = frozenset({4, 5, 134, 135})
# Characters that are wildcards or level separators in topic names.
TOPIC_UNSAFE = re.compile(r"[+#/\x00]")
TOPIC_WILDCARDS = re.compile(r"[+#\x00]")


def topic_level(value: str) -> str:
    """A value made safe as one topic level (no wildcard, no separator)."""
    return TOPIC_UNSAFE.sub("_", value) or "_"


def incident_message(notification: Notification, index: int, item: IncidentEvent) -> str:
    """JSON for `<prefix>/incidents/<incident_id>`: the event plus a per-event idempotency key."""
    body: dict[str, Any] = {
        "version": "1",
        # One notification may carry several events: "#index" keeps each key unique.
        "idempotency_key": f"{notification.idempotency_key}#{index}",
        "created_at": event_time(notification),
        **item.to_dict(),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def state_message(notification: Notification, item: IncidentEvent) -> str:
    """JSON for the retained `<prefix>/cameras/<camera_code>/state` topic."""
    event = item.to_dict()
    body = {
        "version": "1",
        "camera": event["camera"],
        "site": item.site_name,
        "municipality": item.municipality_name,
        # Only the event that set this state: other incidents of the camera may still be open.
        "last_event": {
            "incident_id": item.incident_id,
            "event": item.event,
            "severity": item.severity,
            "conditions": event["conditions"],
        },
        # Lets a consumer ignore a late retry that would overwrite a newer state.
        "updated_at": event_time(notification),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def event_time(notification: Notification) -> str:
    """The notification's creation time as written in payloads."""
    return notification.to_dict()["created_at"]


def messages(notification: Message, default_prefix: str) -> list[tuple[str, str, bool]]:
    """(topic, payload, retain) for every event, then the latest state of each camera; a
    report goes to `<prefix>/reports/<scope>` (e.g. reports/municipality/Versailles or
    reports/all), retained: a dashboard that connects gets the last one of its scope."""
    prefix = notification.recipient.address.strip("/") or default_prefix
    if isinstance(notification, Report):
        scope = notification.content["scope"]
        topic = f"{prefix}/reports/{topic_level(scope['kind'])}"
        if scope["name"]:
            topic += f"/{topic_level(scope['name'])}"
        return [(topic, notification.to_json(), True)]
    out = [
        (
            f"{prefix}/incidents/{topic_level(item.incident_id)}",
            incident_message(notification, i, item),
            False,
        )
        for i, item in enumerate(notification.items)
    ]
    # Items are in time order: the last event about a camera gives its current state.
    latest = {item.camera_code: item for item in notification.items}
    out += [
        (f"{prefix}/cameras/{topic_level(code)}/state", state_message(notification, item), True)
        for code, item in latest.items()
    ]
    return out


def classify(exc: Exception) -> bool:
    """Whether an MQTT failure is temporary: anything but refused credentials."""
    return not (isinstance(exc, aiomqtt.MqttCodeError) and _code(exc) in AUTH_REFUSED)


def _code(exc: aiomqtt.MqttCodeError) -> int | None:
    rc = exc.rc
    value = getattr(rc, "value", rc)  # paho gives an int or a ReasonCode
    return value if isinstance(value, int) else None


class MqttChannel:
    """Publishes notifications to an MQTT broker with QoS 1."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings

    async def send(self, notification: Message) -> None:
        """Publish every message and wait for the broker's acks; raises DeliveryError if not."""
        settings = self.settings
        where = f"mqtt {settings.host}:{settings.port}"
        password = settings.password.get_secret_value() if settings.password else None
        if TOPIC_WILDCARDS.search(notification.recipient.address):
            raise DeliveryError(f"{where}: topic prefix has a wildcard", retryable=False)
        try:
            async with asyncio.timeout(settings.timeout_s):
                await self._publish(notification, password)
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            detail = redact(str(exc), [password]) or "timed out"
            # "from None": keep the unredacted cause out of logged tracebacks.
            raise DeliveryError(
                f"{where}: {type(exc).__name__}: {detail}", retryable=classify(exc)
            ) from None
        log.debug("%s: delivered %s", where, notification.idempotency_key)

    async def _publish(self, notification: Message, password: str | None) -> None:
        settings = self.settings
        async with aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=password,
            timeout=settings.timeout_s,
        ) as client:
            for topic, payload, retain in messages(notification, settings.topic_prefix):
                await client.publish(topic, payload, qos=1, retain=retain)


def build(settings: MqttSettings) -> MqttChannel:
    """An MQTT channel from its settings."""
    return MqttChannel(settings)
