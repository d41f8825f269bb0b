"""`GET /api/v1/events` over a real socket, read with aiohttp's client as text/event-stream:
`id:` lines, resume from Last-Event-ID without gap or duplicate, the caller's scope only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from ports import free_port

from vp_monitor.accounts.principal import Principal
from vp_monitor.config import Settings
from vp_monitor.db import transaction
from vp_monitor.events.record import CAMERA_STATE, record_event
from vp_monitor.service.app import App
from vp_monitor.web.api import events
from vp_monitor.web.app import create_app

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOST = "127.0.0.1"


async def town_caller(app, request, public=False) -> Principal:
    """Test sign-in: the caller's town in X-Test-Town, else the supervision centre."""
    town = request.headers.get("X-Test-Town")
    if town:
        return Principal("town", "municipality", frozenset({town}), language="en")
    return Principal("operator", "operator", language="en")


@pytest.fixture
async def base_url(database_url, secret_key) -> AsyncIterator[str]:
    """The events route of the web application on a loopback port."""
    app = App.from_settings(Settings(database_url=database_url))
    application = create_app(app, events.ROUTES, town_caller)
    runner = web.AppRunner(application, shutdown_timeout=1)
    await runner.setup()
    port = free_port(HOST)
    await web.TCPSite(runner, HOST, port).start()
    yield f"http://{HOST}:{port}"
    await runner.cleanup()
    app.close()


def commit_event(factory, camera_id: int, **payload) -> int:
    with transaction(factory) as session:
        return record_event(session, CAMERA_STATE, at=T0, camera_id=camera_id, **payload)


async def frames(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, str]]:
    """Each event of the stream as its fields (comments left out)."""
    fields: dict[str, str] = {}
    while True:
        line = (await response.content.readline()).decode()
        if not line:
            return
        line = line.rstrip("\n")
        if not line:
            if fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def read(stream: AsyncIterator[dict[str, str]], count: int) -> list[dict[str, str]]:
    """The next `count` events with data (id-only events just move the id on)."""
    got = []
    async with asyncio.timeout(2):
        async for fields in stream:
            if "data" in fields:
                got.append(fields)
                if len(got) == count:
                    return got
    return got


async def test_a_client_receives_events_as_they_commit(base_url, factory, cameras):
    """Each event has its id, its kind as the event type and its JSON."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        async with client.get(f"{base_url}/api/v1/events") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
            stream = frames(response)
            await asyncio.sleep(0.2)
            event_id = await asyncio.to_thread(commit_event, factory, cameras["a"], state="down")
            [got] = await read(stream, 1)
    assert got["id"] == str(event_id) and got["event"] == "camera.state"
    data = json.loads(got["data"])
    assert data["id"] == event_id and data["camera"] == "CAM-a" and data["state"] == "down"


async def test_a_client_resumes_from_its_last_event_id(base_url, factory, cameras):
    """Reconnecting with Last-Event-ID: what it missed from the table, then live events, each
    once and in order."""
    first, *missed = [await asyncio.to_thread(commit_event, factory, cameras["a"], n=n)
                      for n in range(3)]  # fmt: skip
    headers = {"Last-Event-ID": str(first)}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        async with client.get(f"{base_url}/api/v1/events", headers=headers) as response:
            stream = frames(response)
            got = await read(stream, 2)
            live = await asyncio.to_thread(commit_event, factory, cameras["a"], n=3)
            got += await read(stream, 1)
    assert [int(fields["id"]) for fields in got] == [*missed, live]


async def test_a_town_reads_only_its_own_events(base_url, factory, cameras):
    """Town A, resuming from the start, gets A's events and nothing of B's (only id-only
    events moving its Last-Event-ID past them); live, the same."""
    old_b = await asyncio.to_thread(commit_event, factory, cameras["b"])
    old_a = await asyncio.to_thread(commit_event, factory, cameras["a"])
    raw = b""
    headers = {"Last-Event-ID": "0", "X-Test-Town": "92012"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        async with client.get(f"{base_url}/api/v1/events", headers=headers) as response:
            await asyncio.to_thread(commit_event, factory, cameras["b"])
            live_a = await asyncio.to_thread(commit_event, factory, cameras["a"])
            async with asyncio.timeout(3):
                while f"id: {live_a}\nevent".encode() not in raw:
                    raw += await response.content.readany()
    assert b"CAM-b" not in raw and f"id: {old_b}\nevent".encode() not in raw
    assert f"id: {old_a}\nevent".encode() in raw


async def test_a_malformed_last_event_id_is_a_clear_400(base_url):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        headers = {"Last-Event-ID": "12; DROP TABLE change_event"}
        async with client.get(f"{base_url}/api/v1/events", headers=headers) as response:
            assert response.status == 400
            body = await response.json()
    assert body["field"] == "Last-Event-ID" and "positive integer" in body["error"]
