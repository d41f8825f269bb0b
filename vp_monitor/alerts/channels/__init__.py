"""Notification channels: one interface, one table that builds each channel from its settings.

Adding a channel: a module with `XSettings` and `build(settings) -> Channel`, one line in
CHANNELS and one field in ChannelSettings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from vp_monitor.alerts.channels import email, mqtt, webhook
from vp_monitor.alerts.channels.base import Channel, ChannelSection, DeliveryError
from vp_monitor.alerts.channels.email import EmailSettings
from vp_monitor.alerts.channels.mqtt import MqttSettings
from vp_monitor.alerts.channels.webhook import WebhookSettings

__all__ = ["CHANNELS", "Channel", "ChannelSettings", "DeliveryError", "build_channels"]

CHANNELS: dict[str, Callable[[Any], Channel]] = {
    "webhook": webhook.build,
    "email": email.build,
    "mqtt": mqtt.build,
}


class ChannelSettings(ChannelSection):
    """Settings of every channel; `[channels.webhook]`, `[channels.email]`, ... in the TOML."""

    webhook: WebhookSettings = Field(
        default_factory=WebhookSettings, description="HTTP POST of the JSON payload."
    )
    email: EmailSettings = Field(
        default_factory=EmailSettings, description="E-mail through an SMTP relay."
    )
    mqtt: MqttSettings = Field(
        default_factory=MqttSettings, description="MQTT publish (events and states)."
    )


def build_channels(settings: ChannelSettings) -> dict[str, Channel]:
    """Every channel of CHANNELS, built from its section of `settings`."""
    return {kind: build(getattr(settings, kind)) for kind, build in CHANNELS.items()}
