"""Settings of every notification channel, importable without the channels themselves
(config.py loads them on every start; aiohttp, aiosmtplib and aiomqtt load with the channels).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from vp_monitor.section import Section, TimeZoneName


class WebhookSettings(Section):
    timeout_s: float = Field(
        default=10.0, gt=0, description="Time allowed for one delivery: connect, send, response."
    )
    user_agent: str = Field(
        default="vp-monitor-webhook/1", description="User-Agent header sent to receivers."
    )


class EmailSettings(Section):
    host: str = Field(default="localhost", description="SMTP server (relay) host name.")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    sender: str = Field(
        default="vp-monitor@localhost", description="From: address of every message."
    )
    starttls: bool = Field(default=False, description="Require STARTTLS before sending.")
    username: str | None = Field(default=None, description="SMTP login, if the relay needs one.")
    password: SecretStr | None = Field(default=None, description="SMTP password (never logged).")
    timeout_s: float = Field(default=30.0, gt=0, description="Time allowed for one delivery.")
    timezone: TimeZoneName = Field(
        default="Europe/Paris", description="Time zone of dates written in messages."
    )


class MqttSettings(Section):
    host: str = Field(default="localhost", description="MQTT broker host name.")
    port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port.")
    username: str | None = Field(default=None, description="Broker login, if required.")
    password: SecretStr | None = Field(default=None, description="Broker password (never logged).")
    topic_prefix: str = Field(
        default="vp-monitor",
        description="Topic prefix used when a recipient does not give its own.",
    )
    timeout_s: float = Field(
        default=10.0, gt=0, description="Time allowed to connect and have every message acked."
    )


class ChannelSettings(Section):
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
