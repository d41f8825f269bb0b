"""The web process's event hub on SQLite (polled) and PostgreSQL (LISTEN/NOTIFY): every
subscriber hears of a commit within a second, only within its scope; a slow one is dropped
while the others keep receiving; a lost LISTEN connection is made again."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from vp_monitor.db import transaction
from vp_monitor.events.hub import LISTEN_NAME, EventHub, Subscription
from vp_monitor.events.record import CAMERA_STATE, record_event
from vp_monitor.registry.scope import Scope

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
async def hub(engine):
    hub = EventHub.for_engine(engine)
    await hub.start()
    if hub.listen_url is not None:  # wait for LISTEN: the test is of NOTIFY, not polling
        async with asyncio.timeout(5):
            while not hub.listening:
                await asyncio.sleep(0.02)
    yield hub
    await hub.stop()


def commit_event(factory, camera_id: int, **payload) -> int:
    with transaction(factory) as session:
        return record_event(session, CAMERA_STATE, at=T0, camera_id=camera_id, **payload)


def commit_events(factory, camera_id: int, count: int) -> list[int]:
    with transaction(factory) as session:
        return [record_event(session, CAMERA_STATE, at=T0, camera_id=camera_id, n=n)
                for n in range(count)]  # fmt: skip


async def next_event(subscription: Subscription, timeout: float = 1.0):
    async with asyncio.timeout(timeout):
        return await anext(subscription)


async def test_two_subscribers_hear_of_a_commit_within_a_second(factory, cameras, hub):
    """Both receive the committed event, in well under a second (PostgreSQL: NOTIFY, as its
    safety poll is slower than that; SQLite: the table polled)."""
    first, second = hub.subscribe(Scope.supervision()), hub.subscribe(Scope.supervision())
    await asyncio.sleep(0.1)
    start = time.monotonic()
    event_id = await asyncio.to_thread(commit_event, factory, cameras["a"], state="down")
    got = [await next_event(first), await next_event(second)]
    assert time.monotonic() - start < 1.0
    assert [event.id for event in got] == [event_id, event_id]
    assert got[0].payload == {"camera": "CAM-a", "state": "down"}


async def test_a_subscriber_hears_only_of_its_scope(factory, cameras, hub):
    """Town A's subscriber never receives B's events; the supervision centre gets both."""
    town_a = hub.subscribe(Scope.of_municipalities(["92012"]))
    everyone = hub.subscribe(Scope.supervision())
    b_event = await asyncio.to_thread(commit_event, factory, cameras["b"])
    a_event = await asyncio.to_thread(commit_event, factory, cameras["a"])
    assert (await next_event(town_a)).id == a_event
    assert [(await next_event(everyone)).id for _ in range(2)] == [b_event, a_event]
    assert town_a.queue.empty()


async def test_a_slow_subscriber_is_dropped_and_the_others_keep_receiving(engine, factory, cameras):
    """A subscriber that does not read fills its queue and is closed; it can still read what
    was queued (its client resumes from there); another receives every event meanwhile."""
    hub = EventHub.for_engine(engine)
    hub.queue_size = 3
    await hub.start()
    try:
        slow, fast = hub.subscribe(Scope.supervision()), hub.subscribe(Scope.supervision())
        burst = []
        for _ in range(2):  # 4 events for queues of 3: the fast one reads as they come
            written = await asyncio.to_thread(commit_events, factory, cameras["a"], 2)
            assert [(await next_event(fast)).id for _ in written] == written
            burst += written
        assert slow.dropped and slow not in hub.subscribers and fast in hub.subscribers
        later = await asyncio.to_thread(commit_event, factory, cameras["a"])
        assert (await next_event(fast)).id == later
        assert [event.id async for event in slow] == burst[:3]
    finally:
        await hub.stop()


async def test_the_listen_connection_is_made_again(database_url, engine, factory, cameras, hub):
    """PostgreSQL: the LISTEN connection killed by the server, the hub connects again and
    NOTIFY wakes it as before."""
    if hub.listen_url is None:
        pytest.skip("SQLite is polled: there is no connection to lose")

    def kill_listener() -> int:
        with engine.connect() as connection:
            killed = connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND application_name = :name"),
                {"name": LISTEN_NAME},
            ).all()  # fmt: skip
            connection.commit()
            return len(killed)

    subscription = hub.subscribe(Scope.supervision())
    assert await asyncio.to_thread(kill_listener) >= 1
    async with asyncio.timeout(5):
        while hub.listening:
            await asyncio.sleep(0.02)
        while not hub.listening:
            await asyncio.sleep(0.02)
    start = time.monotonic()
    event_id = await asyncio.to_thread(commit_event, factory, cameras["a"])
    assert (await next_event(subscription)).id == event_id
    assert time.monotonic() - start < 1.0


async def test_a_crash_of_the_reader_is_logged_and_it_starts_again(factory, cameras, hub, caplog):
    """The database failing a read: the reader's crash is logged, it starts again and the
    event still arrives."""
    read = hub.feed.since
    failures = []

    def failing_once(*args):
        if not failures:
            failures.append(args)
            raise ConnectionError("database gone for a moment")
        return read(*args)

    hub.feed.since = failing_once
    subscription = hub.subscribe(Scope.supervision())
    hub.wake.set()
    async with asyncio.timeout(3):  # the next read fails
        while not failures:
            await asyncio.sleep(0.01)
    event_id = await asyncio.to_thread(commit_event, factory, cameras["a"])
    assert (await next_event(subscription, 3.0)).id == event_id
    assert "event-hub crashed" in caplog.text
