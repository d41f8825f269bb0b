"""Registry tables: municipalities, sites, cameras, contacts, maintenance windows, audit trail."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vp_monitor.conditions import SEVERITIES
from vp_monitor.db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    """Store an enum by its value, as a plain string column (portable, readable in SQL)."""
    return Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        validate_strings=True,
        length=20,
    )


class CameraKind(enum.StrEnum):
    FIXED = "fixed"
    PTZ = "ptz"
    DOME = "dome"
    MULTISENSOR = "multisensor"


class Lifecycle(enum.StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    DECOMMISSIONED = "decommissioned"


# Cameras in these lifecycle states are checked (maintenance ones too: their real state shows).
SCHEDULED_LIFECYCLES = (Lifecycle.ACTIVE, Lifecycle.MAINTENANCE)


class ContactChannel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    MQTT = "mqtt"


# From the condition table's severities (vp_monitor/conditions.py), least severe first.
Severity = enum.StrEnum("Severity", {name.upper(): name for name in reversed(SEVERITIES)})


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Municipality(Timestamped, Base):
    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    insee: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    departement: Mapped[str] = mapped_column(String(3))

    sites: Mapped[list[Site]] = relationship(back_populates="municipality")


class Maintainer(Timestamped, Base):
    """A company that maintains cameras; its contacts hear about the cameras it maintains."""

    __tablename__ = "maintainer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class Site(Timestamped, Base):
    __tablename__ = "site"
    __table_args__ = (
        UniqueConstraint("municipality_id", "name", name="uq_site_municipality_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(250))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    # Cameras behind one uplink fail together; the correlator groups by it.
    uplink: Mapped[str | None] = mapped_column(String(64), index=True)

    municipality: Mapped[Municipality] = relationship(back_populates="sites")
    cameras: Mapped[list[Camera]] = relationship(back_populates="site")


class Camera(Timestamped, Base):
    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    kind: Mapped[CameraKind] = mapped_column(_enum(CameraKind), default=CameraKind.FIXED)
    onvif_host: Mapped[str | None] = mapped_column(String(253))
    onvif_port: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(64))
    # Fernet token; never decrypted except to talk to the camera.
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    rtsp_main: Mapped[str | None] = mapped_column(String(500))
    rtsp_sub: Mapped[str | None] = mapped_column(String(500))
    expected_codec: Mapped[str | None] = mapped_column(String(10))
    expected_width: Mapped[int | None] = mapped_column(Integer)
    expected_height: Mapped[int | None] = mapped_column(Integer)
    expected_fps: Mapped[float | None] = mapped_column(Float)
    manufacturer: Mapped[str | None] = mapped_column(String(80))
    model: Mapped[str | None] = mapped_column(String(80))
    serial: Mapped[str | None] = mapped_column(String(80))
    firmware: Mapped[str | None] = mapped_column(String(80))
    lifecycle: Mapped[Lifecycle] = mapped_column(_enum(Lifecycle), default=Lifecycle.ACTIVE)
    installed_on: Mapped[date | None] = mapped_column(Date)
    maintainer_id: Mapped[int | None] = mapped_column(ForeignKey("maintainer.id"), index=True)
    authorisation_number: Mapped[str | None] = mapped_column(String(60))
    authorisation_expires: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    site: Mapped[Site] = relationship(back_populates="cameras")
    municipality: Mapped[Municipality] = relationship()
    maintainer: Mapped[Maintainer | None] = relationship()


# Asset codes are unique whatever their case: CAM-01 and cam-01 are the same camera.
Index("uq_camera_code_lower", func.lower(Camera.code), unique=True)


class Contact(Timestamped, Base):
    """Who is told: a municipality's, a maintainer's or the supervision centre's recipient."""

    __tablename__ = "contact"
    __table_args__ = (
        CheckConstraint("(municipality_id IS NULL) OR (maintainer_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"), index=True)
    maintainer_id: Mapped[int | None] = mapped_column(ForeignKey("maintainer.id"), index=True)
    channel: Mapped[ContactChannel] = mapped_column(_enum(ContactChannel))
    address: Mapped[str] = mapped_column(String(500))
    min_severity: Mapped[Severity] = mapped_column(_enum(Severity), default=Severity.MINOR)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    # Escalation level: 0 is told first, 1 when level 0 has not acknowledged in time, ...
    level: Mapped[int] = mapped_column(Integer, default=0)
    # Webhook signing key, Fernet-encrypted like camera passwords.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    quiet_from: Mapped[time | None] = mapped_column(Time)
    quiet_until: Mapped[time | None] = mapped_column(Time)
    # Incident events gathered into a digest at `alerts.digest_times` instead of told at once.
    digest: Mapped[bool] = mapped_column(default=False)
    # Receives the daily report about its cameras at `alerts.report_time`.
    reports: Mapped[bool] = mapped_column(default=False)

    municipality: Mapped[Municipality | None] = relationship()
    maintainer: Mapped[Maintainer | None] = relationship()


class MaintenanceScope(enum.StrEnum):
    CAMERA = "camera"
    SITE = "site"
    MUNICIPALITY = "municipality"


class MaintenanceWindow(Timestamped, Base):
    __tablename__ = "maintenance_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[MaintenanceScope] = mapped_column(_enum(MaintenanceScope))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("camera.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    planned_by: Mapped[str] = mapped_column(String(120), default="")


class AuditEntry(Base):
    """One registry write: who, when, what, with before/after values (secrets masked)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(120), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReferenceKind(enum.StrEnum):
    DAY = "day"
    NIGHT = "night"  # infrared, monochrome


class ReferenceImage(Base):
    """A picture of what the camera should show. Per kind, the newest approved one is in force;
    without any, the newest provisional one (learned by the monitor from healthy checks)."""

    __tablename__ = "reference_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReferenceKind] = mapped_column(_enum(ReferenceKind), default=ReferenceKind.DAY)
    # The PTZ preset (its ONVIF token) this picture is the view of; None: the camera's one view.
    preset: Mapped[str | None] = mapped_column(String(64))
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    # Learned by the monitor, not approved by a person: any approved reference replaces it.
    provisional: Mapped[bool] = mapped_column(default=False, server_default=false())


# Which reference of a kind is in force: the first in this order (approved before provisional,
# newest first).
REFERENCE_IN_FORCE_ORDER = (ReferenceImage.provisional.asc(), ReferenceImage.id.desc())
