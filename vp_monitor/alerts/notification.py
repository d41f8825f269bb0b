"""What a channel delivers: one message to one recipient, listing one or more incident events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from vp_monitor.conditions import SEVERITIES as SEVERITY_ORDER
from vp_monitor.conditions import Severity
from vp_monitor.conditions import StateName as CameraState
from vp_monitor.redaction import MASK

PAYLOAD_VERSION = "1"

ChannelKind = Literal["email", "webhook", "mqtt"]
Language = Literal["fr", "en"]
EventKind = Literal["opened", "acknowledged", "resolved", "reopened", "escalated", "reminder"]
# SEVERITY_ORDER, highest first: a grouped message takes its worst ongoing incident's severity.
__all__ = ["SEVERITY_ORDER", "CameraState", "Severity"]


@dataclass(frozen=True)
class Recipient:
    """Who receives a notification, through which channel, in which language."""

    channel: ChannelKind
    address: str  # e-mail address, webhook URL or MQTT topic prefix
    language: Language = "fr"
    secret: str | None = None  # webhook HMAC key

    def __repr__(self) -> str:
        # Never show the secret, nor a URL that may hold credentials: the outbox logs recipients.
        address = self.address if self.channel == "email" else MASK
        return f"Recipient(channel={self.channel!r}, address={address!r})"


@dataclass(frozen=True)
class IncidentEvent:
    """One thing that happened to one incident (opened, resolved, ...), as told to people."""

    incident_id: str
    event: EventKind
    severity: Severity
    conditions: tuple[str, ...]
    camera_code: str
    camera_name: str
    site_name: str
    municipality_name: str
    camera_state: CameraState
    started_at: datetime
    resolved_at: datetime | None = None
    duration_s: float | None = None
    summary: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    evidence_url: str | None = None

    @property
    def is_recovery(self) -> bool:
        """True when this event tells that the incident is over."""
        return self.event == "resolved"

    def to_dict(self) -> dict[str, Any]:
        """The event as the JSON object documented in docs/notifications.md."""
        return {
            "incident_id": self.incident_id,
            "event": self.event,
            "severity": self.severity,
            "conditions": list(self.conditions),
            "camera": {
                "code": self.camera_code,
                "name": self.camera_name,
                "state": self.camera_state,
            },
            "site": self.site_name,
            "municipality": self.municipality_name,
            "started_at": iso_utc(self.started_at),
            "resolved_at": iso_utc(self.resolved_at) if self.resolved_at else None,
            "duration_s": self.duration_s,
            "summary": self.summary,
            "metrics": dict(self.metrics),
            "evidence_url": self.evidence_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncidentEvent:
        """Rebuild an event from `to_dict()` output (used by receivers and tests)."""
        camera = data["camera"]
        return cls(
            incident_id=data["incident_id"],
            event=data["event"],
            severity=data["severity"],
            conditions=tuple(data["conditions"]),
            camera_code=camera["code"],
            camera_name=camera["name"],
            site_name=data["site"],
            municipality_name=data["municipality"],
            camera_state=camera["state"],
            started_at=datetime.fromisoformat(data["started_at"]),
            resolved_at=_parse(data.get("resolved_at")),
            duration_s=data.get("duration_s"),
            summary=data.get("summary", ""),
            metrics=dict(data.get("metrics", {})),
            evidence_url=data.get("evidence_url"),
        )


@dataclass(frozen=True)
class Notification:
    """One message to one recipient; the idempotency key lets a receiver drop a duplicate."""

    idempotency_key: str
    recipient: Recipient
    items: tuple[IncidentEvent, ...]
    created_at: datetime
    digest: bool = False  # the events a digest-mode contact was owed since its last digest

    @property
    def failures(self) -> tuple[IncidentEvent, ...]:
        """Events about incidents still going on (opened, reminder, escalated, ...)."""
        return tuple(item for item in self.items if not item.is_recovery)

    @property
    def recoveries(self) -> tuple[IncidentEvent, ...]:
        """Events telling that an incident is over."""
        return tuple(item for item in self.items if item.is_recovery)

    @property
    def severity(self) -> Severity | None:
        """Worst severity among ongoing incidents; None when the message only tells recoveries."""
        present = {item.severity for item in self.failures}
        return next((level for level in SEVERITY_ORDER if level in present), None)

    @property
    def incident_ids(self) -> tuple[str, ...]:
        """Distinct incident ids, in order of first appearance."""
        return tuple(dict.fromkeys(item.incident_id for item in self.items))

    def to_dict(self) -> dict[str, Any]:
        """The versioned webhook payload; never contains the recipient's address or secret."""
        return {
            "version": PAYLOAD_VERSION,
            "type": "digest" if self.digest else "incidents",
            "idempotency_key": self.idempotency_key,
            "created_at": iso_utc(self.created_at),
            "severity": self.severity,
            "counts": {"failures": len(self.failures), "recoveries": len(self.recoveries)},
            "items": [item.to_dict() for item in self.items],
        }

    def to_json(self) -> str:
        """The webhook payload as compact JSON text (UTF-8, accents kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, recipient: Recipient) -> Notification:
        """Parse a payload produced by `to_json()`; the recipient is not part of it."""
        data = json.loads(text)
        if data.get("version") != PAYLOAD_VERSION:
            raise ValueError(f"unsupported payload version {data.get('version')!r}")
        return cls(
            idempotency_key=data["idempotency_key"],
            recipient=recipient,
            items=tuple(IncidentEvent.from_dict(item) for item in data["items"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            digest=data.get("type") == "digest",
        )


@dataclass(frozen=True)
class Report:
    """The daily report to one recipient: `content` as built by `alerts.reports.build_report`."""

    idempotency_key: str
    recipient: Recipient
    content: dict[str, Any]
    created_at: datetime
    incident_ids: tuple[str, ...] = ()  # a report opens no incident: nothing to correlate

    def to_dict(self) -> dict[str, Any]:
        """The versioned webhook payload of a report (docs/notifications.md)."""
        return {
            "version": PAYLOAD_VERSION,
            "type": "report",
            "idempotency_key": self.idempotency_key,
            "created_at": iso_utc(self.created_at),
            **self.content,
        }

    def to_json(self) -> str:
        """The payload as compact JSON text (UTF-8, accents kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


# What the outbox hands a channel.
Message = Notification | Report


def iso_utc(moment: datetime) -> str:
    # Naive datetimes are taken as UTC: the database stores UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
