"""Whether the database can be used now: one classifier of "database unavailable" errors and
one health state per engine, shared by the monitor's database work, its periodic jobs, the
heartbeat and readiness.

An outage is an error that says the database cannot be used at all (the server is gone or
refuses connections, the disk holding the SQLite file is full or failing), as opposed to an
error of one statement (a constraint, a deadlock, a bug), which its caller handles as before.
The state goes down at the first such error, wherever it happens (the engine's `handle_error`
hook, see db.py), and is logged once; it comes back at the next write that commits and began
after the outage was noticed (a read proves nothing when the disk is full, and a server shutting
down still commits the transactions it had), logged once with the outage's duration. Meanwhile the
callers skip their work quietly instead of logging a traceback per run.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from vp_monitor.texts import Message

log = logging.getLogger(__name__)

# The kinds of outage (catalogue keys database.kind.*).
DISK_FULL, DISK_ERROR, SERVER_GONE = "disk_full", "disk_error", "server_gone"
# SQLite result codes (extended codes start with these names) that mean the file is unusable.
_SQLITE_KINDS = {"SQLITE_FULL": DISK_FULL, "SQLITE_IOERR": DISK_ERROR,
                 "SQLITE_CANTOPEN": DISK_ERROR}  # fmt: skip
# The same by message, for errors without a code name (Python before 3.11, or re-raised).
_SQLITE_MESSAGES = {"database or disk is full": DISK_FULL, "disk i/o error": DISK_ERROR,
                    "unable to open database file": DISK_ERROR}  # fmt: skip
# PostgreSQL SQLSTATEs: 08 connection exception, 57P01-03 the server shuts down or starts,
# 53 insufficient resources (53100 disk full). Deadlocks (40P01), cancelled statements (57014)
# and lock time-outs (55P03) are errors of one statement, not outages.
_PG_SHUTDOWN = {"57P01", "57P02", "57P03"}
_CHAIN_DEPTH = 8  # how many causes are followed to find the driver's error


def outage_kind(exc: BaseException) -> str | None:
    """The kind of outage `exc` reports (DISK_FULL, DISK_ERROR, SERVER_GONE), or None when it is
    not one (an error of one statement: its caller handles it)."""
    seen: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            return None
        kind = _kind_of(seen)
        if kind is not None:
            return kind
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return None


def _kind_of(error: BaseException) -> str | None:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return SERVER_GONE  # SQLAlchemy saw the connection drop
    if isinstance(error, DisconnectionError):
        return SERVER_GONE
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        for prefix, kind in _SQLITE_KINDS.items():
            if name.startswith(prefix):
                return kind
        text = str(error).lower()
        return next((kind for words, kind in _SQLITE_MESSAGES.items() if words in text), None)
    if type(error).__module__.startswith("psycopg"):
        return _psycopg_kind(error)
    if isinstance(error, OperationalError | InterfaceError) and not isinstance(
        error.orig, sqlite3.Error
    ):
        return None if _is_psycopg(error.orig) else SERVER_GONE  # another driver: by class
    return None


def _is_psycopg(error: BaseException | None) -> bool:
    return error is not None and type(error).__module__.startswith("psycopg")


def _psycopg_kind(error: BaseException) -> str | None:
    import psycopg

    state = getattr(error, "sqlstate", None)
    if state == "53100":
        return DISK_FULL
    if state is not None:
        return SERVER_GONE if state[:2] in ("08", "53") or state in _PG_SHUTDOWN else None
    # No SQLSTATE: the client library's own error (connection refused, lost, closed).
    client_side = isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    return SERVER_GONE if client_side else None


def _detail(exc: BaseException, password: str | None) -> str:
    """The driver's words on one line, without the password."""
    from vp_monitor.redaction import redact

    text = str(getattr(exc, "orig", None) or exc)
    text = redact(text, [password or ""]) if password else text
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())[:300]


def database_place(url: URL) -> str:
    """Where the database is, as logs may show it: the SQLite file or the masked URL."""
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return str(Path(url.database).absolute())
    return url.render_as_string(hide_password=True)


class DatabaseHealth:
    """Whether one engine's database can be used; thread-safe (database work runs in threads).

    `failed(exc)` classifies an error and, for an outage, marks the database away (logged once);
    `wrote(started)` marks it back after a write committed (logged once, with the duration);
    `problem()` is readiness's reason while it is away.
    """

    def __init__(self, url: URL) -> None:
        self.place = database_place(url)
        self.password = url.password
        self.lock = threading.Lock()
        self.away_since: float | None = None  # time.monotonic() of the outage's first error
        self.kind: str | None = None

    @property
    def available(self) -> bool:
        """No outage under way."""
        return self.away_since is None

    def failed(self, exc: BaseException) -> bool:
        """Whether `exc` says the database is unavailable; the first such error of an outage
        is logged (one line: where, the kind, the driver's words)."""
        kind = outage_kind(exc)
        if kind is None:
            return False
        with self.lock:
            if self.away_since is not None:
                return True
            self.away_since, self.kind = time.monotonic(), kind
        _set_gauge(0)
        log.error("%s", Message("database.unavailable", where=self.place,
                                kind=Message(f"database.kind.{kind}"),
                                detail=_detail(exc, self.password)))  # fmt: skip
        return True

    def wrote(self, started: float) -> None:
        """A write begun at `started` (time.monotonic()) committed: an outage noticed before it
        began is over (logged with its duration). One begun earlier proves nothing: a server
        shutting down lets its open transactions commit while it refuses everything new."""
        if self.away_since is None:  # the common case, without the lock
            return
        with self.lock:
            if self.away_since is None or started <= self.away_since:
                return
            lasted_s, self.away_since, self.kind = time.monotonic() - self.away_since, None, None
        _set_gauge(1)
        log.warning("%s", Message("database.back", where=self.place, seconds=f"{lasted_s:.0f}"))

    def problem(self) -> Message | None:
        """Readiness's reason while the database is away, None otherwise."""
        since, kind = self.away_since, self.kind
        if since is None:
            return None
        seconds = f"{time.monotonic() - since:.0f}"
        return Message("ready.database_unavailable", kind=Message(f"database.kind.{kind}"),
                       seconds=seconds)  # fmt: skip


def _set_gauge(value: int) -> None:
    from vp_monitor.metrics import record_database_available

    record_database_available(value)


_HEALTH: weakref.WeakKeyDictionary[Engine, DatabaseHealth] = weakref.WeakKeyDictionary()
_HEALTH_LOCK = threading.Lock()


def health_of(engine: Engine) -> DatabaseHealth:
    """The health state of `engine`'s database: one per engine, made on first use."""
    with _HEALTH_LOCK:
        health = _HEALTH.get(engine)
        if health is None:
            health = _HEALTH[engine] = DatabaseHealth(engine.url)
        return health
