"""Nodes sharing one database: their heartbeat rows, the periodic jobs one node runs for all,
and the lock that keeps a SQLite file to a single node.

Several `vp-monitor serve` nodes share one PostgreSQL database; each writes its `node` row every
`monitor.heartbeat_s`. A periodic job that must not run twice (retention, escalations, digests,
reports…) runs in a transaction that first takes a PostgreSQL advisory lock on the job (another
node running it now makes us skip, without waiting) and then moves the job's `periodic_job` row
to its next run (another node's scheduler firing later in the same period finds it not due).
SQLite serves one node: a lock file beside the database refuses a second one, and the OS frees
it when the process dies, so a dead node's row never blocks a restart.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, Float, Integer, String, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from vp_monitor.db import Base, UTCDateTime, utcnow
from vp_monitor.texts import Message

log = logging.getLogger(__name__)

ROLES = ("all", "poller", "web")
# A job's next run is set this fraction of its period early: the next firing of the same
# node's scheduler, a few milliseconds late or early, still finds it due.
PERIOD_SLACK = 0.1
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class Node(Base):
    """One running `vp-monitor serve` process, as it last said it was."""

    __tablename__ = "node"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # the lease owner name
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checks_per_minute: Mapped[float] = mapped_column(Float, default=0.0)


class PeriodicJob(Base):
    """A periodic job that one node runs for all: when it is next due, who ran it last."""

    __tablename__ = "periodic_job"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_node: Mapped[str | None] = mapped_column(String(80))


# -- heartbeat ---------------------------------------------------------------------------------
def package_version() -> str:
    """The installed vp-monitor version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vp-monitor")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


@dataclass
class Heartbeat:
    """This node's row: written every few seconds with its recent check rate, deleted at stop."""

    factory: sessionmaker[Session]
    node_id: str
    role: str
    started_at: datetime = field(default_factory=utcnow)
    _last: tuple[datetime, int] | None = None  # (time, checks done) at the previous beat

    def beat(self, checks_done: int = 0) -> None:
        """Write the node row: last seen now, checks per minute since the previous beat."""
        from vp_monitor.db import transaction

        now = utcnow()
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (checks_done - self._last[1]) * 60.0 / (now - self._last[0]).total_seconds()
        self._last = (now, checks_done)
        with transaction(self.factory) as session:
            node = session.get(Node, self.node_id) or Node(id=self.node_id)
            node.host, node.pid = socket.gethostname()[:255], os.getpid()
            node.version, node.role = package_version()[:40], self.role
            node.started_at, node.last_seen_at = self.started_at, now
            node.checks_per_minute = round(rate, 1)
            session.add(node)

    def leave(self) -> None:
        """Delete the node row: a node that stopped cleanly is no longer listed."""
        from vp_monitor.db import transaction

        with transaction(self.factory) as session:
            session.execute(delete(Node).where(Node.id == self.node_id))


def node_records(session: Session, now: datetime, stale_s: float) -> list[dict[str, Any]]:
    """Every node row, oldest first, with its status: live, or stale when not seen lately."""
    records = []
    for node in session.scalars(select(Node).order_by(Node.started_at, Node.id)):
        seen_ago = (now - node.last_seen_at).total_seconds()
        records.append(
            {"id": node.id, "host": node.host, "pid": node.pid, "version": node.version,
             "role": node.role, "status": "live" if seen_ago <= stale_s else "stale",
             "started_at": node.started_at.isoformat(timespec="seconds"),
             "last_seen_at": node.last_seen_at.isoformat(timespec="seconds"),
             "seen_ago_s": round(max(seen_ago, 0.0), 1),
             "checks_per_minute": node.checks_per_minute}
        )  # fmt: skip
    return records


def prune_nodes(session: Session, now: datetime, retention_days: float) -> int:
    """Delete the rows of nodes not seen for `retention_days`."""
    before = now - timedelta(days=retention_days)
    return session.execute(delete(Node).where(Node.last_seen_at < before)).rowcount


# -- periodic jobs one node runs for all -----------------------------------------------------
def job_lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a job name."""
    digest = hashlib.blake2b(f"vp-monitor:job:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def claim_periodic(session: Session, name: str, period_s: float, node: str, now: datetime) -> bool:
    """Whether this node runs job `name` now; if so the job is this period's, for every node.

    The caller runs the job in the same transaction: the advisory lock is held until it
    commits, and a job that fails rolls the claim back, so the next node to try runs it.
    On SQLite (one node) always True.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    if not session.scalar(select(func.pg_try_advisory_xact_lock(job_lock_key(name)))):
        return False  # another node is running it right now
    from sqlalchemy.dialects.postgresql import insert

    session.execute(
        insert(PeriodicJob).values(name=name, next_run_at=NEVER).on_conflict_do_nothing()
    )
    claimed = session.execute(
        update(PeriodicJob)
        .where(PeriodicJob.name == name, PeriodicJob.next_run_at <= now)
        .values(
            next_run_at=now + timedelta(seconds=period_s * (1 - PERIOD_SLACK)),
            last_run_at=now,
            last_node=node,
        )
    )
    return claimed.rowcount == 1


# -- one node per SQLite file -----------------------------------------------------------------
class NodeRunning(Exception):
    """Another node already runs on this SQLite database; `holder` is its node id."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"node {holder or '?'} holds the database")
        self.holder = holder


def lock_path(database_url: str) -> Path | None:
    """The lock file beside a SQLite database file; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return path.with_name(path.name + ".lock")


def hold_single_node(database_url: str, node_id: str) -> IO[str] | None:
    """On SQLite, lock the database for this node until the file returned is closed or the
    process ends (before anything opens the database); raise NodeRunning if another node holds
    it. None for PostgreSQL."""
    path = lock_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise NodeRunning(holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{node_id}\n")
    handle.flush()
    return handle


def running_message(engine: Engine, holder: str) -> Message:
    """Which node holds the database: its host, pid and start time from its node row."""
    from vp_monitor.db import session_factory

    with session_factory(engine)() as session:
        node = session.get(Node, holder) if holder else None
    if node is None:  # the holder is starting and has not written its row yet
        who = Message("node.starting", id=holder or "?")
    else:
        since = node.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        who = Message("node.running", id=node.id, host=node.host, pid=node.pid, since=since)
    return Message("node.already_running", database=engine.url.database, who=who)
