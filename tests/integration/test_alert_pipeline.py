"""The whole alert pipeline against real receivers: camera changes in, messages out.

record_change → group_once → dispatch_once with the real channels, an aiohttp webhook
receiver, an aiosmtpd server and Mosquitto; daily reports and digests too. Time is simulated
by passing `now`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from sqlalchemy import select

from vp_monitor.alerts.channels import ChannelSettings, build_channels
from vp_monitor.alerts.channels.email import EmailSettings
from vp_monitor.alerts.channels.mqtt import MqttSettings
from vp_monitor.alerts.channels.webhook import WebhookSettings
from vp_monitor.alerts.escalation import escalate_once
from vp_monitor.alerts.incidents import record_change
from vp_monitor.alerts.models import Delivery
from vp_monitor.alerts.outbox import dispatch_once, group_once
from vp_monitor.alerts.reports import create_due_reports
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.availability import RECORDED_FLEET
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.models import CameraStatus
from vp_monitor.registry.models import Camera, Contact, Municipality, Site

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SETTINGS = AlertSettings()
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def free_port() -> int:
    """A local TCP port nobody listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Receiver:
    """Webhook receiver: answers `status`, records (idempotency key, payload) of each 2xx."""

    status: int = 200
    got: list[tuple[str, dict]] = field(default_factory=list)
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if self.status >= 300:
            self.refused += 1
        else:
            self.got.append((request.headers["X-VP-Idempotency-Key"], body))
        return web.Response(status=self.status)


@contextlib.asynccontextmanager
async def webhook_receiver(port: int = 0, status: int = 200) -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver on 127.0.0.1 (a given port, or a free one); yields it and its URL."""
    receiver = Receiver(status=status)
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1", port=port or None)
    await server.start_server()
    try:
        yield receiver, f"http://127.0.0.1:{server.port}/hook"
    finally:
        await server.close()


class Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def mailbox():
    """An SMTP server on 127.0.0.1 and a free port."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def mqtt_up() -> bool:
    """Whether Mosquitto answers on 127.0.0.1:1883."""
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=1):
            return True
    except OSError:
        return False


class Pipeline:
    """The evaluator's calls and the periodic jobs, driven with a simulated clock."""

    def __init__(self, engine, smtp_port: int = 25) -> None:
        self.factory = session_factory(engine)
        self.channels = build_channels(
            ChannelSettings(
                webhook=WebhookSettings(timeout_s=2),
                email=EmailSettings(host="127.0.0.1", port=smtp_port, timeout_s=5),
                mqtt=MqttSettings(host=MQTT_HOST, port=MQTT_PORT, timeout_s=5),
            )
        )

    def check(self, camera_id, at, state="ok", conditions=(), **extra):
        """One evaluated check: the status update and record_change in one transaction."""
        with transaction(self.factory) as session:
            status = session.get(CameraStatus, camera_id) or CameraStatus(
                camera_id=camera_id, state="ok", since=T0
            )
            session.add(status)
            change = CameraChange(
                camera_id,
                at,
                state,
                status.state,
                frozenset(conditions),
                opened=frozenset(conditions) - set(status.conditions or []),
                **extra,
            )
            if state != status.state:
                status.state, status.since = state, at
            status.conditions = sorted(conditions)
            session.flush()
            record_change(session, change, SETTINGS)

    async def jobs(self, now) -> int:
        """Escalation, grouping and one dispatch round at `now`; returns messages delivered."""
        with transaction(self.factory) as session:
            escalate_once(session, SETTINGS, now)
            group_once(session, SETTINGS, now)
        return await dispatch_once(self.factory, self.channels, SETTINGS, now)

    async def run(self, start, minutes: int, step_s: int = 30) -> None:
        """Run the jobs every `step_s` simulated seconds for `minutes`."""
        for n in range(minutes * 60 // step_s + 1):
            await self.jobs(start + timedelta(seconds=n * step_s))


def build(factory, contacts: dict[str, tuple[str, str, str]], gare_cameras=40):
    """Town A: site Gare (uplink UP-GARE, N cameras) and Mairie (1); town B: one camera.

    `contacts` maps a name to (owner "A" | "B" | "CSU", channel, address); returns ids."""
    with transaction(factory) as session:
        towns = {
            "A": Municipality(insee="92012", name="Boulogne", departement="92"),
            "B": Municipality(insee="78646", name="Versailles", departement="78"),
        }
        gare = Site(name="Gare", municipality=towns["A"], uplink="UP-GARE")
        mairie = Site(name="Mairie", municipality=towns["A"])
        chateau = Site(name="Château", municipality=towns["B"])
        cams = [
            Camera(code=f"GARE-{n:02d}", site=gare, municipality=towns["A"])
            for n in range(gare_cameras)
        ]
        cams += [
            Camera(code="MAIRIE-1", site=mairie, municipality=towns["A"]),
            Camera(code="CHATEAU-1", site=chateau, municipality=towns["B"]),
        ]
        session.add_all(cams)
        session.flush()
        ids = {camera.code: camera.id for camera in cams}
        for name, (owner, channel, address) in contacts.items():
            town = towns.get(owner)
            contact = Contact(
                name=name,
                channel=channel,
                address=address,
                municipality_id=town.id if town else None,
            )
            session.add(contact)
            session.flush()
            ids[name] = contact.id
    return ids


async def test_site_outage_is_one_message_per_recipient_and_one_recovery(engine, mailbox):
    """40 cameras losing their uplink: ONE message per recipient, and one more at recovery."""
    if not mqtt_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    prefix = f"vp-test-{uuid.uuid4().hex[:8]}"
    async with (
        webhook_receiver() as (town_a, url_a),
        webhook_receiver() as (town_b, url_b),
        aiomqtt.Client(MQTT_HOST, MQTT_PORT, timeout=5) as mqtt,
    ):
        await mqtt.subscribe(f"{prefix}/incidents/#", qos=1)
        pipeline = Pipeline(engine, mailbox.port)
        ids = build(
            pipeline.factory,
            {
                "A-hook": ("A", "webhook", url_a),
                "A-mail": ("A", "email", "astreinte@boulogne.example"),
                "B-hook": ("B", "webhook", url_b),
                "CSU-mqtt": ("CSU", "mqtt", prefix),
            },
        )
        gare = [ids[f"GARE-{n:02d}"] for n in range(40)]
        for n, cam in enumerate(gare):  # checks spread over 40 s, as the planner does
            pipeline.check(cam, T0 + timedelta(seconds=n), "down", {"unreachable"})
            if n % 10 == 0:
                await pipeline.jobs(T0 + timedelta(seconds=n))
        await pipeline.run(T0 + timedelta(seconds=40), minutes=3)
        assert len(town_a.got) == 1 and len(mailbox.messages) == 1
        [(_, payload)] = town_a.got
        [item] = payload["items"]
        assert item["conditions"] == ["site_down"] and item["event"] == "opened"
        assert "40" in item["summary"]

        back = T0 + timedelta(minutes=10)
        for n, cam in enumerate(gare):
            pipeline.check(cam, back + timedelta(seconds=n), "ok")
        await pipeline.run(back + timedelta(seconds=40), minutes=3)
        assert [p["items"][0]["event"] for _, p in town_a.got] == ["opened", "resolved"]
        assert len(mailbox.messages) == 2
        assert town_b.got == []  # town B's contact never hears of town A's cameras
        async with asyncio.timeout(5):
            topics = [str((await anext(mqtt.messages)).topic) for _ in range(2)]
        assert len(set(topics)) == 1  # two messages, both about the one site incident
    keys = [key for key, _ in town_a.got]
    assert len(set(keys)) == 2


async def test_one_message_per_recipient_per_group_window(engine):
    """Three cameras failing within the group window reach each recipient in one message."""
    async with webhook_receiver() as (csu, url):
        pipeline = Pipeline(engine)
        ids = build(pipeline.factory, {"CSU": ("CSU", "webhook", url)}, gare_cameras=4)
        for n, code in enumerate(("GARE-00", "GARE-01", "MAIRIE-1")):
            pipeline.check(ids[code], T0 + timedelta(seconds=5 * n), "degraded", {"frozen"})
        await pipeline.run(T0, minutes=2, step_s=5)
        [(_, payload)] = csu.got
        assert payload["counts"] == {"failures": 3, "recoveries": 0}


async def test_receiver_down_for_an_hour_gets_everything_in_order(engine):
    """A receiver answering 503 for an hour gets every message, in order, once it is back."""
    async with webhook_receiver(status=503) as (csu, url):
        pipeline = Pipeline(engine)
        ids = build(pipeline.factory, {"CSU": ("CSU", "webhook", url)}, gare_cameras=2)
        timeline = [
            (0, "MAIRIE-1", "degraded", {"black"}),
            (10, "CHATEAU-1", "degraded", {"frozen"}),
            (20, "MAIRIE-1", "ok", ()),
            (30, "CHATEAU-1", "ok", ()),
        ]
        for minute, code, state, conditions in timeline:
            at = T0 + timedelta(minutes=minute)
            pipeline.check(ids[code], at, state, conditions)
            await pipeline.run(at, minutes=9, step_s=60)
        await pipeline.run(T0 + timedelta(minutes=40), minutes=25, step_s=60)
        assert csu.got == [] and csu.refused > 10
        csu.status = 200
        await pipeline.run(T0 + timedelta(minutes=66), minutes=30, step_s=60)
    told = [(item["camera"]["code"], item["event"]) for _, p in csu.got for item in p["items"]]
    assert told == [
        ("MAIRIE-1", "opened"),
        ("CHATEAU-1", "opened"),
        ("MAIRIE-1", "resolved"),
        ("CHATEAU-1", "resolved"),
    ]
    assert len({key for key, _ in csu.got}) == 4


async def test_closed_port_receiver_gets_everything_when_it_listens_again(engine, caplog):
    """A receiver whose port is closed gets the messages later; its URL token is never shown."""
    port = free_port()
    pipeline = Pipeline(engine)
    token = "T0KEN-9f8e7d6c5b4a"
    ids = build(
        pipeline.factory,
        {"CSU": ("CSU", "webhook", f"http://127.0.0.1:{port}/hooks/{token}?sig={token}")},
        gare_cameras=2,
    )
    pipeline.check(ids["MAIRIE-1"], T0, "degraded", {"blurred"})
    with caplog.at_level(logging.DEBUG):
        await pipeline.run(T0, minutes=30, step_s=60)
    with pipeline.factory() as session:
        [delivery] = session.scalars(select(Delivery)).all()
        assert delivery.status == "pending" and delivery.attempts > 3
        assert str(port) in delivery.last_error and token not in delivery.last_error
    assert token not in caplog.text
    async with webhook_receiver(port=port) as (csu, _):
        await pipeline.run(T0 + timedelta(minutes=31), minutes=6, step_s=60)
    [(key, _)] = csu.got
    assert key == delivery.idempotency_key


async def test_maintenance_silences_and_escalation_reaches_level_one(engine):
    """A fault in maintenance tells nobody; an unacknowledged one reaches level 1 after 15 min."""
    async with webhook_receiver() as (duty, url_duty), webhook_receiver() as (chief, url_chief):
        pipeline = Pipeline(engine)
        ids = build(
            pipeline.factory,
            {
                "duty": ("CSU", "webhook", url_duty),
                "chief": ("CSU", "webhook", url_chief),
            },
            gare_cameras=2,
        )
        with transaction(pipeline.factory) as session:
            session.get(Contact, ids["chief"]).level = 1
        pipeline.check(ids["CHATEAU-1"], T0, "degraded", {"moved"}, in_maintenance=True)
        pipeline.check(ids["MAIRIE-1"], T0, "degraded", {"covered"})
        await pipeline.run(T0, minutes=20, step_s=60)
    assert [p["items"][0]["camera"]["code"] for _, p in duty.got] == ["MAIRIE-1"]
    assert [(i["camera"]["code"], i["event"]) for _, p in chief.got for i in p["items"]] == [
        ("MAIRIE-1", "escalated")
    ]


async def test_daily_report_reaches_webhook_email_and_mqtt_once_a_day(engine, mailbox):
    """At 07:00 Paris each contact that takes reports gets yesterday's report about its own
    cameras, once, through its channel: signed JSON, a French e-mail, a retained MQTT topic."""
    if not mqtt_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    prefix = f"vp-test-{uuid.uuid4().hex[:8]}"
    async with webhook_receiver() as (town_a, url_a):
        pipeline = Pipeline(engine, mailbox.port)
        ids = build(pipeline.factory, {}, gare_cameras=2)
        with transaction(pipeline.factory) as session:
            town = session.get(Camera, ids["MAIRIE-1"]).municipality_id
            session.add_all([
                Contact(name="A-hook", channel="webhook", address=url_a, municipality_id=town,
                        reports=True),
                Contact(name="A-mail", channel="email", address="maire@boulogne.example",
                        municipality_id=town, reports=True),
                Contact(name="CSU", channel="mqtt", address=prefix, reports=True),
            ])  # fmt: skip
        # During the day (T0 is 10:00 Paris) one camera of each town fails and recovers.
        pipeline.check(ids["MAIRIE-1"], T0, "degraded", {"black"})
        pipeline.check(ids["CHATEAU-1"], T0, "degraded", {"frozen"})
        pipeline.check(ids["MAIRIE-1"], T0 + timedelta(hours=1), "ok")
        next_morning = datetime(2026, 11, 24, 6, 0, 10, tzinfo=UTC)  # 07:00:10 in Paris
        for minutes in (-2, 0, 1, 2, 60):  # the job runs every minute, and on every node
            with transaction(pipeline.factory) as session:
                create_due_reports(
                    session,
                    SETTINGS,
                    next_morning + timedelta(minutes=minutes),
                    fleet=RECORDED_FLEET,
                )
        async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, timeout=5) as mqtt:
            await pipeline.run(next_morning, minutes=3)
            await mqtt.subscribe(f"{prefix}/reports/#", qos=1)  # after: retained, still there
            async with asyncio.timeout(5):
                retained = await anext(mqtt.messages)
    [(key, report)] = [(k, p) for k, p in town_a.got if p["type"] == "report"]
    assert key.startswith("report-") and report["period"]["day"] == "2026-11-23"
    assert report["scope"] == {"kind": "municipality", "name": "Boulogne"}
    assert report["incidents"]["opened"] == 1 and report["incidents"]["resolved"] == 1
    assert [row["camera"] for row in report["incidents"]["items"]] == ["MAIRIE-1"]
    mails = [m for m in mailbox.messages if b"Rapport quotidien" in m]
    assert len(mails) == 1 and b"text/html" in mails[0]
    whole_fleet = json.loads(retained.payload)
    assert str(retained.topic) == f"{prefix}/reports/all" and retained.retain
    assert whole_fleet["scope"]["kind"] == "all" and whole_fleet["incidents"]["opened"] == 2


async def test_digest_contact_gets_one_message_at_digest_time(engine):
    """A digest-mode contact hears nothing at 10:00 and gets, at 17:00 Paris, one message
    listing the failures and recoveries since; an immediate contact is told at once."""
    async with webhook_receiver() as (digest, url_digest), webhook_receiver() as (now, url_now):
        pipeline = Pipeline(engine)
        ids = build(pipeline.factory, {"now": ("CSU", "webhook", url_now)}, gare_cameras=2)
        with transaction(pipeline.factory) as session:
            session.add(Contact(name="digest", channel="webhook", address=url_digest,
                                digest=True))  # fmt: skip
        pipeline.check(ids["MAIRIE-1"], T0, "degraded", {"black"})
        await pipeline.run(T0, minutes=4)
        pipeline.check(ids["CHATEAU-1"], T0 + timedelta(minutes=5), "degraded", {"frozen"})
        await pipeline.run(T0 + timedelta(minutes=5), minutes=4)
        assert len(now.got) == 2 and digest.got == []
        pipeline.check(ids["MAIRIE-1"], T0 + timedelta(hours=2), "ok")
        await pipeline.run(T0 + timedelta(hours=2), minutes=5)
        assert len(now.got) == 3 and digest.got == []
        five_pm = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
        await pipeline.run(five_pm - timedelta(minutes=5), minutes=10)
    [(_, payload)] = digest.got
    assert payload["type"] == "digest" and all(p["type"] == "incidents" for _, p in now.got)
    assert [(i["camera"]["code"], i["event"]) for i in payload["items"]] == [
        ("MAIRIE-1", "opened"),
        ("CHATEAU-1", "opened"),
        ("MAIRIE-1", "resolved"),
    ]
