"""Monitoring tables: check schedule rows with leases, camera status, check history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vp_monitor import conditions
from vp_monitor.db import Base, UTCDateTime, utcnow
from vp_monitor.monitor.settings import TierIntervals

# Check tiers: what is checked and how often by default (seconds).
TIERS = {name: field.default for name, field in TierIntervals.model_fields.items()}
# Camera states (DESIGN.md contract).
STATES = conditions.STATE_NAMES


class CheckSchedule(Base):
    """One tier of checks for one camera: when it is due, and who holds it now (lease)."""

    __tablename__ = "check_schedule"
    __table_args__ = (UniqueConstraint("camera_id", "tier", name="uq_check_schedule_camera_tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(String(20))
    interval_s: Mapped[float] = mapped_column(Float)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overruns: Mapped[int] = mapped_column(Integer, default=0)


class CameraStatus(Base):
    """What the monitor currently believes about a camera, with the counters behind it."""

    __tablename__ = "camera_status"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20), default="unknown")
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    # condition -> number of consecutive checks it was seen (image conditions need 2).
    pending: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Recent state transition times (epoch seconds), for flapping detection.
    transitions: Mapped[list[float]] = mapped_column(JSON, default=list)
    flapping: Mapped[bool] = mapped_column(default=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clock_offset_s: Mapped[float | None] = mapped_column(Float)
    # tier -> {"at": epoch seconds, "key": what the check saw}: the tier's last history row.
    recorded: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Tiers that have given a result: a camera is not `ok` before every judging tier has.
    tiers_checked: Mapped[list[str] | None] = mapped_column(JSON)
    # condition -> when it was first seen (epoch seconds) in its current unbroken run, for the
    # conditions opened after a time rather than a count (conditions.Condition.held_for).
    held_since: Mapped[dict[str, float] | None] = mapped_column(JSON)


class CheckRecord(Base):
    """A finished check (history for availability and the camera page; pruned by retention).

    Written when a check saw something else than the tier's previous record, and at least
    every `monitor.history_every_s` otherwise: availability needs only the changes.
    """

    __tablename__ = "check_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(20))
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_s: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # up | degraded | down | unknown (availability.py's one definition); NULL on rows written
    # before it existed, read from `state` then.
    availability: Mapped[str | None] = mapped_column(String(10))


class AvailabilityDay(Base):
    """One camera's availability over one whole UTC day, rolled up from its check history
    (availability.roll_up) before retention deletes those records: kept for years."""

    __tablename__ = "availability_day"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    up_s: Mapped[float] = mapped_column(Float)  # includes degraded_s
    down_s: Mapped[float] = mapped_column(Float)
    degraded_s: Mapped[float] = mapped_column(Float)
    maintenance_s: Mapped[float] = mapped_column(Float)
    unknown_s: Mapped[float] = mapped_column(Float)


class AvailabilityRollup(Base):
    """A UTC day whose availability is rolled up (a row even when no camera had history then):
    the days rolled up are one unbroken run, read from availability_day instead of history."""

    __tablename__ = "availability_rollup"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cameras: Mapped[int] = mapped_column(Integer)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferenceCandidate(Base):
    """A camera without a reference of one kind (day or night) on its way to a provisional one:
    its run of healthy image checks and the clearest frame of the run (one per camera and kind,
    so the candidates stay bounded). In the database, so that the checks of a camera run by
    several nodes, or before and after a restart, count as one run."""

    __tablename__ = "reference_candidate"
    __table_args__ = (
        UniqueConstraint("camera_id", "kind", name="uq_reference_candidate_camera_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # day or night (ReferenceKind's values)
    healthy_checks: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the run's first healthy check
    sharpness: Mapped[float] = mapped_column(Float)  # of the frame kept (vision's measure)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class CameraThumbnail(Base):
    """The latest picture a check decoded from a camera, small (the status wall's tile): one
    row per camera, replaced by each stream check that decoded a frame, so it stays bounded.
    In the database, not on a node's disk, so that a web node shows what any poller saw."""

    __tablename__ = "camera_thumbnail"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("camera.id", ondelete="CASCADE"), primary_key=True
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the check's start
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
