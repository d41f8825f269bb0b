"""A webhook receiver down for an hour, then back: the outbox's real grouping, leases and
retries (outbox.group_once, outbox.dispatch_once as alerts/jobs.py runs them, each second),
the real webhook channel, a real aiohttp receiver on loopback that answers 503 then 200. Time
is the outbox's own (`now` is handed in), stepped as the jobs' ticks would step it (by a few
seconds while the receiver is down): the hour costs no waiting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from ports import serve_on_loopback
from sqlalchemy import func, select

from vp_monitor.alerts.channel_settings import ChannelSettings
from vp_monitor.alerts.channels import build_channels
from vp_monitor.alerts.models import Delivery, OutboxEvent
from vp_monitor.alerts.notification import IncidentEvent
from vp_monitor.alerts.outbox import dispatch_once, group_once
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import transaction
from vp_monitor.registry.models import Contact

pytestmark = pytest.mark.timeout(120)
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TICK = timedelta(seconds=1)  # alerts/jobs.py: grouping and dispatch every second
DOWN_STEP = timedelta(seconds=5)
DOWN_FOR = timedelta(hours=1, seconds=7)  # back between two attempts, not on one
BACKLOG_WITHIN = timedelta(seconds=30)  # issue 15: a returning receiver's backlog within 30 s


class Receiver:
    """A webhook receiver refusing (503) until `up`, then recording what it is sent."""

    def __init__(self) -> None:
        self.up = False
        self.keys: list[str] = []  # accepted, in arrival order
        self.incidents: list[str] = []
        self.refused = 0

    async def hook(self, request: web.Request) -> web.Response:
        if not self.up:
            self.refused += 1
            return web.Response(status=503)
        self.keys.append(request.headers["X-VP-Idempotency-Key"])
        self.incidents += [
            item["incident_id"] for item in json.loads(await request.read())["items"]
        ]
        return web.json_response({})


def queue_event(factory, contact_id: int, at: datetime, n: int, severity: str) -> None:
    item = IncidentEvent(
        incident_id=f"inc-{n:02d}", event="opened", severity=severity, conditions=("covered",),
        camera_code=f"C-{n:02d}", camera_name="", site_name="Mairie",
        municipality_name="Boulogne", camera_state="degraded", started_at=at,
    )  # fmt: skip
    with transaction(factory) as session:
        session.add(OutboxEvent(contact_id=contact_id, incident_id=item.incident_id,
                                payload=item.to_dict(), created_at=at))  # fmt: skip


async def test_a_receiver_down_for_an_hour_gets_everything_once_in_order_within_30_s(factory):
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.hook)
    runner, port = await serve_on_loopback(app)
    settings = AlertSettings()
    channels = build_channels(ChannelSettings())
    try:
        with transaction(factory) as session:
            contact = Contact(name="CSU", channel="webhook",
                              address=f"http://127.0.0.1:{port}/hook")  # fmt: skip
            session.add(contact)
            session.flush()
            contact_id = contact.id
        # Twelve incidents over the hour the receiver is down, a critical one among them.
        arrivals = {T0 + timedelta(minutes=5 * n): n for n in range(12)}
        now, back = T0, T0 + DOWN_FOR
        while True:
            for at, n in list(arrivals.items()):
                if at <= now:
                    queue_event(factory, contact_id, at, n, "critical" if n == 7 else "major")
                    del arrivals[at]
            with transaction(factory) as session:
                group_once(session, settings, now)
            if now >= back:
                receiver.up = True
            while await dispatch_once(factory, channels, settings, now):
                pass  # alerts/jobs.py: a round that delivered is followed by another
            with factory() as session:
                left = session.scalar(select(func.count()).select_from(Delivery)
                                      .where(Delivery.status != "sent"))  # fmt: skip
            if receiver.up and not arrivals and left == 0:
                break
            assert now - back < timedelta(minutes=10), "the backlog never drained"
            # While it is down, steps of a few seconds are enough (its attempts fail anyway);
            # from its return on, every tick.
            now += TICK if now >= back - DOWN_STEP else DOWN_STEP
        assert receiver.refused > 0  # it was tried while down
        assert now - back <= BACKLOG_WITHIN, f"backlog delivered {now - back} after the return"
        assert len(receiver.keys) == len(set(receiver.keys)), "a message was delivered twice"
        assert receiver.incidents == [f"inc-{n:02d}" for n in range(12)]  # once each, in order
    finally:
        await runner.cleanup()
