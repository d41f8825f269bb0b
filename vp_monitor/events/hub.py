"""One hub per web process: waits for new change events, reads them once, fans them out.

PostgreSQL: a connection of its own LISTENs on `vp_events` (the writers' NOTIFY, sent at
commit) and wakes the reader; SQLite: the table is polled. Either way the rows are read from
the table, so an event is the same whichever node wrote it, and a node that missed a NOTIFY
(reconnecting) catches up at the next read. Each subscriber has a bounded queue; one whose
queue is full is dropped (its client reconnects with Last-Event-ID and catches up from the
table), so a slow client never holds up the hub, still less the monitor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from vp_monitor.db import session_factory
from vp_monitor.db_health import outage_kind
from vp_monitor.events.feed import PAGE, Event, EventFeed
from vp_monitor.events.record import CHANNEL
from vp_monitor.monitor.runner import supervise
from vp_monitor.registry.scope import Scope

log = logging.getLogger(__name__)
STOP_S = 5.0  # longest the hub's tasks may take to end when it stops

QUEUE_SIZE = 1000  # events a subscriber may have waiting before it is dropped
POLL_S = 0.5  # SQLite: how often the table is read
# PostgreSQL: NOTIFY wakes the reader; it reads anyway this often (a hole in the ids waiting to
# settle, a notification lost while reconnecting).
SAFETY_POLL_S = 2.0
CONNECT_TIMEOUT_S = 5
LISTEN_CHECK_S = 30.0  # a LISTEN connection silent this long is checked with a query
QUERY_TIMEOUT_S = 5.0
RECONNECT_MAX_S = 30.0
LISTEN_NAME = "vp-monitor-events"  # application_name of the LISTEN connection (pg_stat_activity)

RunBlocking = Callable[..., Awaitable[Any]]


class Subscription:
    """What one client receives: the events after `cursor` inside its scope, in id order.

    `cursor` is the hub's position when it subscribed: a client resuming from an older
    Last-Event-ID reads the table up to it (`EventFeed.since(..., until=cursor)`), then the
    queue. Iterating ends when the subscription is closed (dropped or hub stopped) and what
    was queued is consumed.
    """

    def __init__(self, scope: Scope, cursor: int, size: int = QUEUE_SIZE) -> None:
        self.scope = scope
        self.cursor = cursor
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(size)
        self.closed = False
        self.dropped = False  # closed because it fell behind

    def offer(self, event: Event) -> bool:
        """Queue an event without waiting; a full queue closes the subscription (False)."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            self.close()
            return False
        return True

    def close(self) -> None:
        """No more events; a consumer waiting is woken."""
        self.closed = True
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            pass  # the consumer is not waiting: it has events to read first

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self.closed and self.queue.empty():
            raise StopAsyncIteration
        event = await self.queue.get()
        if event is None:
            raise StopAsyncIteration
        return event


class EventHub:
    """Reads new change events once for the whole process and hands them to subscribers."""

    def __init__(
        self,
        feed: EventFeed,
        listen_url: URL | None = None,
        run_blocking: RunBlocking | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.feed = feed
        self.listen_url = listen_url  # PostgreSQL: where to LISTEN; None: poll
        self.run_blocking = run_blocking or asyncio.to_thread
        self.queue_size = queue_size
        self.cursor = 0
        self.subscribers: set[Subscription] = set()
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.listening = False  # PostgreSQL: the LISTEN connection is up
        # called with each page of new events before the subscribers get it (caches to clear)
        self.listeners: list[Callable[[list[Event]], None]] = []

    @classmethod
    def for_engine(cls, engine: Engine, run_blocking: RunBlocking | None = None) -> EventHub:
        """A hub reading `engine`'s database, LISTENing when it is PostgreSQL."""
        url = engine.url if engine.dialect.name == "postgresql" else None
        return cls(EventFeed(session_factory(engine)), url, run_blocking)

    async def start(self) -> None:
        """Start from the table's settled end, then read and listen in supervised tasks."""
        self.cursor = await self.run_blocking(self.feed.head)
        self.tasks.append(
            asyncio.create_task(supervise("event-hub", self._read_forever), name="event-hub")
        )
        if self.listen_url is not None:
            self.tasks.append(
                asyncio.create_task(supervise("event-listen", self._listen), name="event-listen")
            )

    async def stop(self) -> None:
        """Stop the tasks and close every subscription."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=STOP_S)
            for task in pending:  # never seen to happen; the web's shutdown must not hang on it
                log.warning("live events: %s did not stop within %g s", task.get_name(), STOP_S)
        self.tasks.clear()
        for subscription in list(self.subscribers):
            subscription.close()
        self.subscribers.clear()

    def subscribe(self, scope: Scope) -> Subscription:
        """A new subscriber, receiving the events after the hub's current position."""
        subscription = Subscription(scope, self.cursor, self.queue_size)
        self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """The client has gone."""
        self.subscribers.discard(subscription)
        subscription.close()

    # -- reading -----------------------------------------------------------------------------
    async def _read_forever(self) -> None:
        while True:  # reads first: started again after a crash, it catches up at once
            self.wake.clear()  # a NOTIFY arriving while reading wakes the next round
            try:
                await self.read_new()
            except Exception as exc:
                if outage_kind(exc) is None:
                    raise  # a bug: supervise logs it and starts again
                # The database is away (logged once by its health state): read next round.
            poll = SAFETY_POLL_S if self.listening else POLL_S
            try:
                await asyncio.wait_for(self.wake.wait(), poll)
            except TimeoutError:
                pass

    async def read_new(self) -> int:
        """Read what was committed since the last read and fan it out; returns how many."""
        total = 0
        while True:
            page = await self.run_blocking(self.feed.since, self.cursor, Scope.supervision(), PAGE)
            if page.cursor == self.cursor:
                return total
            # Moved on and the subscribers taken in one step, with no await between: one
            # subscribing from now on starts after this page, the others receive it.
            self.cursor, subscribers = page.cursor, list(self.subscribers)
            for listener in self.listeners:
                listener(page.events)
            await self._fan_out(page.events, subscribers)
            total += len(page.events)
            if len(page.events) < PAGE:
                return total

    async def _fan_out(self, events: list[Event], subscribers: list[Subscription]) -> None:
        if not events or not subscribers:
            return
        scopes = {s.scope for s in subscribers if not s.scope.is_supervision}
        shown: dict[Scope, list[Event]] = {Scope.supervision(): events}
        for scope in scopes:  # one query per distinct scope, not per client
            shown[scope] = await self.run_blocking(self.feed.visible, events, scope)
        for subscription in subscribers:
            for event in shown[subscription.scope]:
                if event.id > subscription.cursor and not subscription.offer(event):
                    self.subscribers.discard(subscription)
                    log.warning("live events: a client too slow was disconnected")
                    break

    # -- PostgreSQL LISTEN -------------------------------------------------------------------
    async def _listen(self) -> None:
        import psycopg

        conninfo = self.listen_url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        pause = 1.0
        while True:
            try:
                await self._listen_on(psycopg, conninfo)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                # The reason only: the connection string holds the password. A database
                # outage is logged once by its health state, not at every attempt.
                level = logging.DEBUG if outage_kind(exc) else logging.WARNING
                log.log(level, "live events: LISTEN connection lost (%s); again in %g s",
                        type(exc).__name__, pause)  # fmt: skip
            if self.listening:  # it worked until now: try again soon, then back off
                self.listening, pause = False, 1.0
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_S)

    async def _listen_on(self, psycopg: Any, conninfo: str) -> None:
        async with asyncio.timeout(CONNECT_TIMEOUT_S + QUERY_TIMEOUT_S):
            connection = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                application_name=LISTEN_NAME,
            )  # fmt: skip
        async with connection:
            async with asyncio.timeout(QUERY_TIMEOUT_S):
                await connection.execute(f"LISTEN {CHANNEL}")
            self.listening = True
            self.wake.set()  # what was committed while nobody listened
            while True:
                async for _ in connection.notifies(timeout=LISTEN_CHECK_S):
                    self.wake.set()
                async with asyncio.timeout(QUERY_TIMEOUT_S):  # silent: still connected?
                    await connection.execute("SELECT 1")
