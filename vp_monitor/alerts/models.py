"""Alerting tables: incidents, and the outbox (events per recipient, grouped into deliveries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from vp_monitor.db import Base, UTCDateTime, utcnow

# The condition of the partial index on unresolved incidents (lists write the same, literally).
UNRESOLVED = "status != 'resolved'"


class Incident(Base):
    """One real problem: a camera's, a site's (uplink down) or the monitor's own isolation."""

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_open_camera", "camera_id", "status"),
        Index("ix_incident_opened_at", "opened_at"),  # lists: newest first, one page read
        # Which cameras have an unresolved incident of a severity: a few hundred rows of a
        # history of 100,000 (service/lists.py, whose condition is this one, constant and all).
        Index(
            "ix_incident_unresolved",
            "severity",
            "camera_id",
            postgresql_where=text(UNRESOLVED),
            sqlite_where=text(UNRESOLVED),
        ),  # fmt: skip
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # stable, told to receivers
    kind: Mapped[str] = mapped_column(String(20))  # camera | site | flapping | monitor
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("camera.id", ondelete="SET NULL"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    # A camera incident held under a site incident (inhibition) is not told on its own.
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("incident.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|acknowledged|resolved
    severity: Mapped[str] = mapped_column(String(10))
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The figures of the check that opened the incident (the evidence), never overwritten.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Its worst moment so far: {"at", "state", "severity", "conditions", "metrics"}.
    worst: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)
    silenced: Mapped[bool] = mapped_column(default=False)  # opened during maintenance
    # A camera incident's camera state as the evaluator last told it (CameraChange), and since
    # when: alerting reads its own tables, never the monitor's.
    camera_state: Mapped[str | None] = mapped_column(String(20))
    camera_state_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEvent(Base):
    """One incident event owed to one recipient, written in the transaction that caused it."""

    __tablename__ = "outbox_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[str] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # IncidentEvent.to_dict()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id"), index=True)


class Delivery(Base):
    """One message to one recipient grouping its events; retried with back-off until sent."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # incidents: grouped outbox events; digest: the same, gathered at digest times; report: the
    # daily report, whose content is `payload` (computed once: every attempt sends the same).
    kind: Mapped[str] = mapped_column(String(10), default="incidents")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
