"""Reading the change table: the events after a client's last one, within its Scope.

PostgreSQL hands out sequence ids at insert and makes rows visible at commit, so id 10 can be
seen before id 9 commits (or is rolled back, a hole for ever). Reading `id > last` naively
would lose 9. The rule here: ids are handed out in order up to the first hole; past a hole
only once the row after it was written `settle_s` ago by the database's clock (a writer
commits within a second or two; a hole older than that is a rolled-back transaction). The
rule needs no memory, so every web node and every resuming client decides alike. What it
gives up: an event whose transaction stays open more than `settle_s` after writing it, while
a later one commits, is not streamed (it stays in the table). SQLite has one writer at a
time: its ids commit in order and it never waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from vp_monitor.db import utcnow
from vp_monitor.events.models import ChangeEvent
from vp_monitor.registry.scope import Scope

SETTLE_S = 5.0  # how long a hole in the ids may stay open before it is passed over
PAGE = 500  # rows read at most per call


@dataclass(frozen=True)
class Event:
    """One change event as clients receive it (plain values only)."""

    id: int
    kind: str
    at: datetime
    camera_id: int | None
    site_id: int | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: ChangeEvent) -> Event:
        return cls(row.id, row.kind, row.at, row.camera_id, row.site_id, dict(row.payload))

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON: its id, kind, time (ISO 8601, UTC), subject and payload."""
        return {**self.payload, "id": self.id, "kind": self.kind, "at": self.at.isoformat(),
                "camera_id": self.camera_id, "site_id": self.site_id}  # fmt: skip


@dataclass(frozen=True)
class Page:
    """Events in id order, and how far the table was read: every id up to `cursor` was handed
    out (if inside the scope) or passed over for good. Resume from `cursor`, not from the
    last event's id: the rows between were another tenant's."""

    events: list[Event]
    cursor: int


def database_now(session: Session) -> datetime:
    """The database's clock now (the one `written_at` was read from)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(func.clock_timestamp()))
    return utcnow()


class EventFeed:
    """Reads change events after an id, within a Scope, never past an unsettled hole."""

    def __init__(self, factory: sessionmaker[Session], settle_s: float = SETTLE_S) -> None:
        self.factory = factory
        self.settle = timedelta(seconds=settle_s)

    def since(
        self, last_id: int, scope: Scope, limit: int = PAGE, until: int | None = None
    ) -> Page:
        """The events after `last_id` (up to `until` if given) inside `scope`, in id order."""
        with self.factory() as session:
            query = select(ChangeEvent).where(ChangeEvent.id > last_id)
            if until is not None:
                query = query.where(ChangeEvent.id <= until)
            rows = list(session.scalars(query.order_by(ChangeEvent.id).limit(limit)))
            cursor = self._settled(session, last_id, rows)
            events = [Event.of(row) for row in rows if row.id <= cursor]
            return Page(self._visible(session, events, scope), cursor)

    def head(self) -> int:
        """Where a client that has seen nothing starts: the last id settled for sure (rows of
        the last `settle_s` are still handed out to it)."""
        with self.factory() as session:
            before = database_now(session) - self.settle
            query = select(func.max(ChangeEvent.id)).where(ChangeEvent.written_at < before)
            return session.scalar(query) or 0

    def visible(self, events: list[Event], scope: Scope) -> list[Event]:
        """Those of `events` inside `scope` (the Scope's own SQL conditions decide)."""
        with self.factory() as session:
            return self._visible(session, events, scope)

    def _settled(self, session: Session, last_id: int, rows: list[ChangeEvent]) -> int:
        cursor, now = last_id, None
        for row in rows:
            if row.id != cursor + 1:  # a hole: still being written, or rolled back?
                now = now or database_now(session)
                if now - row.written_at < self.settle:
                    break
            cursor = row.id
        return cursor

    @staticmethod
    def _visible(session: Session, events: list[Event], scope: Scope) -> list[Event]:
        if scope.is_supervision or not events:
            return events
        inside = scope.subjects(ChangeEvent.camera_id, ChangeEvent.site_id)
        ids = {event.id for event in events}
        query = select(ChangeEvent.id).where(ChangeEvent.id.in_(sorted(ids)), inside)
        shown = set(session.scalars(query))
        return [event for event in events if event.id in shown]


def prune_events(session: Session, hours: float) -> int:
    """Delete change events older than `hours` (clients further behind resume from the oldest)."""
    before = utcnow() - timedelta(hours=hours)
    return session.execute(delete(ChangeEvent).where(ChangeEvent.at < before)).rowcount
