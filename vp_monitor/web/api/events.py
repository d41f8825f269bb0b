"""`GET /api/v1/events`: live change events as Server-Sent Events, scoped to the caller.

Each event is sent as `id: N`, `event: KIND` (camera.state, incident.opened, ...) and
`data: JSON` (`Event.to_dict`). A client reconnecting with `Last-Event-ID` (browsers send it
by themselves) first reads the change table from there up to where the process's hub took
over, then the hub's queue: no event missed, none twice. One that falls behind is dropped by
the hub and simply reconnects. The hub runs once per process (`hub_context`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from vp_monitor import metrics
from vp_monitor.events.feed import PAGE, Event
from vp_monitor.events.hub import EventHub, Subscription
from vp_monitor.web.call import Call
from vp_monitor.web.errors import ApiError
from vp_monitor.web.keys import EVENT_HUB
from vp_monitor.web.routes import EVERYONE, Route

KEEPALIVE_S = 15.0  # a comment line this often: proxies keep the connection, dead ones show
WRITE_TIMEOUT_S = 10.0  # a client not taking what is written for this long is let go
RETRY_MS = 2000  # how long browsers wait before reconnecting


def hub_context(
    engine: Any,
    run_blocking: Callable[..., Awaitable[Any]] | None = None,
    on_events: Callable[[list[Event]], None] | None = None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A `cleanup_ctx` entry: the process's event hub, started with the application;
    `on_events` is given each page of new events (the read cache is cleared by them)."""

    async def context(application: web.Application) -> AsyncIterator[None]:
        hub = EventHub.for_engine(engine, run_blocking)
        if on_events is not None:
            hub.listeners.append(on_events)
        await hub.start()
        application[EVENT_HUB] = hub
        yield
        await hub.stop()

    return context


def last_event_id(request: web.Request) -> int | None:
    """The Last-Event-ID header as an id; ValueError if it is not one."""
    value = request.headers.get("Last-Event-ID")
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValueError(value)
    return int(value)


def frame(event: Event) -> bytes:
    """One event in the text/event-stream format."""
    data = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n".encode()


async def stream_events(call: Call) -> web.StreamResponse:
    """Stream the caller's change events (its scope only) until it goes away."""
    request, principal = call.request, call.principal
    try:
        resume_from = last_event_id(request)
    except ValueError:
        raise ApiError(400, "events.last_event_id", field="Last-Event-ID") from None
    hub = request.app[EVENT_HUB]
    subscription = hub.subscribe(principal.scope)  # first: what commits from now is queued
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # nginx: do not hold events back
    })  # fmt: skip
    try:
        with metrics.track_sse_client():
            await _stream(request, response, hub, subscription, resume_from)
    except (ConnectionResetError, TimeoutError):
        pass  # the client went away, or stopped reading
    finally:
        hub.unsubscribe(subscription)
    return response


async def _stream(
    request: web.Request, response: web.StreamResponse, hub: EventHub,
    subscription: Subscription, resume_from: int | None,
) -> None:  # fmt: skip
    """The table from `resume_from` up to the queue's start, then the queue."""
    await response.prepare(request)
    await _write(response, f"retry: {RETRY_MS}\n\n".encode())
    last = subscription.cursor if resume_from is None else resume_from
    last = await _catch_up(hub, subscription, response, last)
    await _follow(subscription, response, last)


async def _catch_up(
    hub: EventHub, subscription: Subscription, response: web.StreamResponse, last: int
) -> int:
    """Send from the table what came after `last` up to where the queue starts."""
    while last < subscription.cursor:
        page = await hub.run_blocking(
            hub.feed.since, last, subscription.scope, PAGE, subscription.cursor
        )
        if page.cursor == last:
            break  # nothing settled (cannot stay so: the hub went past it)
        for event in page.events:
            await _write(response, frame(event))
        if not page.events or page.events[-1].id != page.cursor:
            # Rows of other tenants read past: an id-only event moves the client's
            # Last-Event-ID on without showing anything.
            await _write(response, f"id: {page.cursor}\n\n".encode())
        last = page.cursor
    return last


async def _follow(subscription: Subscription, response: web.StreamResponse, last: int) -> None:
    """Send what the hub queues, skipping what the client had already."""
    while True:
        try:
            event = await asyncio.wait_for(anext(subscription), KEEPALIVE_S)
        except TimeoutError:
            await _write(response, b": keep-alive\n\n")
            continue
        except StopAsyncIteration:
            return  # dropped for being slow, or the server stops: the client reconnects
        if event.id > last:
            await _write(response, frame(event))
            last = event.id


async def _write(response: web.StreamResponse, data: bytes) -> None:
    async with asyncio.timeout(WRITE_TIMEOUT_S):
        await response.write(data)


ROUTES = [
    Route("GET", "/api/v1/events", stream_events, EVERYONE,
          "Live change events of the caller's scope (Server-Sent Events; resumes from "
          "Last-Event-ID)", media_type="text/event-stream", stream=True, tags=("events",)),
]  # fmt: skip
