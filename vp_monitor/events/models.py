"""The change table: one row per change a live client is told of, ids in commit-safe order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vp_monitor.db import Base, UTCDateTime

# SQLite: INTEGER PRIMARY KEY AUTOINCREMENT never hands out an id again, even after the rows
# holding the highest ids were pruned, so a client's Last-Event-ID stays behind every new event.
EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


class ChangeEvent(Base):
    """A camera state change or an incident opened, acknowledged or resolved.

    No foreign keys: an event outlives the camera it names, and writing one must not lock the
    registry's rows. camera/site/municipality ids are those of the moment of the change.
    """

    __tablename__ = "change_event"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(EVENT_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # when the change happened
    # When the row was written, by the database's clock (readers judge id gaps by it).
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    camera_id: Mapped[int | None] = mapped_column(Integer)
    site_id: Mapped[int | None] = mapped_column(Integer)
    municipality_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # plain values, never a secret
