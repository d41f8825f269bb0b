"""Notification channels: one interface, one table that builds each channel from its settings.

Adding a channel: a module with `build(settings) -> Channel`, one line in CHANNELS, and its
`XSettings` with one field in ChannelSettings (`alerts/channel_settings.py`, which config.py
loads without the channels' libraries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vp_monitor.alerts.channel_settings import ChannelSettings
from vp_monitor.alerts.channels import email, mqtt, webhook
from vp_monitor.alerts.channels.base import Channel, DeliveryError

__all__ = ["CHANNELS", "Channel", "ChannelSettings", "DeliveryError", "build_channels"]

CHANNELS: dict[str, Callable[[Any], Channel]] = {
    "webhook": webhook.build,
    "email": email.build,
    "mqtt": mqtt.build,
}


def build_channels(settings: ChannelSettings) -> dict[str, Channel]:
    """Every channel of CHANNELS, built from its section of `settings`."""
    return {kind: build(getattr(settings, kind)) for kind, build in CHANNELS.items()}
