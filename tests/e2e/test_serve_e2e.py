"""End to end: simulator fleet → `vp-monitor serve` → webhook, SMTP and MQTT receivers.

Faults are injected through the simulator's control API; the monitor is killed with SIGKILL in
the middle of the storm and restarted; every receiver ends with every expected message and no
incident is opened twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from email import message_from_bytes, policy

import aiohttp
import pytest
from aiohttp import web
from ports import serve_on_loopback

pytestmark = pytest.mark.slow(seconds=80)

CAMERAS = ["cam001", "cam002", "cam003", "cam004"]
FAULTS = {"cam001": "black", "cam002": "refuse", "cam003": "covered_dark"}
HEALTHY = "cam004"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mqtt_available() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 1883), 1):
        return True
    return False


class Receivers:
    """Webhook, SMTP and MQTT receivers recording every incident event they get."""

    def __init__(self) -> None:
        self.events: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # channel -> ...
        self.keys: dict[str, dict[str, str]] = defaultdict(dict)  # channel -> key -> body

    def note(self, channel: str, key: str, body: str, items: list[dict]) -> None:
        """Record a message; a key seen again must carry the same body, and is dropped."""
        if key in self.keys[channel]:
            assert self.keys[channel][key] == body, f"{channel}: key {key} reused for new content"
            return
        self.keys[channel][key] = body
        for item in items:
            code = item["camera"]["code"]
            self.events[channel].append((code, item["incident_id"], item["event"]))

    def seen(self, channel: str, code: str, event: str) -> bool:
        return any(c == code and e == event for c, _i, e in self.events[channel])


async def start_webhook(receivers: Receivers) -> tuple[web.AppRunner, str]:
    async def hook(request: web.Request) -> web.Response:
        body = await request.text()
        payload = json.loads(body)
        receivers.note("webhook", request.headers["X-VP-Idempotency-Key"], body, payload["items"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, port = await serve_on_loopback(app)
    return runner, f"http://127.0.0.1:{port}/hook"


def start_smtp(receivers: Receivers):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            message = message_from_bytes(envelope.content, policy=policy.default)
            key = message["X-VP-Idempotency-Key"]
            text = message.get_body(("plain",)).get_content()
            items = [{"camera": {"code": code}, "incident_id": "-", "event": kind}
                     for code, kind in mail_events(text)]  # fmt: skip
            receivers.note("email", key, envelope.content.decode(errors="replace"), items)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def mail_events(text: str) -> list[tuple[str, str]]:
    """(camera, event) pairs read from a French e-mail: a recovery line says "rétabli"."""
    found = []
    for line in text.splitlines():
        for code in CAMERAS:
            if code in line:
                found.append((code, "resolved" if "rétabli" in line.lower() else "opened"))
    return found


async def watch_mqtt(receivers: Receivers, prefix: str, ready: asyncio.Event) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883, timeout=10) as client:
        await client.subscribe(f"{prefix}/incidents/#", qos=1)
        ready.set()
        async for message in client.messages:
            body = message.payload.decode()
            payload = json.loads(body)  # one event per message, with its own key
            receivers.note("mqtt", payload["idempotency_key"], body, [payload])


def cli(env: dict[str, str], *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "vp_monitor", *args], env=env, input=input, text=True,
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def states(database: str) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as connection:
        rows = connection.execute(
            "SELECT camera.code, camera_status.state FROM camera_status "
            "JOIN camera ON camera.id = camera_status.camera_id"
        )
        return dict(rows.fetchall())


def incident_counts(database: str) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as connection:
        rows = connection.execute(
            "SELECT camera.code, count(*) FROM incident "
            "JOIN camera ON camera.id = incident.camera_id GROUP BY camera.code"
        )  # fmt: skip
        return dict(rows.fetchall())


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def set_fault(onvif_port: int, code: str, fault: str, **params: float) -> None:
    """Switch a simulated camera into `fault`, with the fault's parameters (e.g. delay_s)."""
    host = f"127.0.1.{int(code[3:])}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        response = await session.post(
            f"http://{host}:{onvif_port}/sim/fault", json={"fault": fault, **params}
        )
        assert response.status == 200, await response.text()


def config_text(tmp_path, smtp_port: int, mqtt_prefix: str) -> str:
    return f"""
database_url = "sqlite:///{tmp_path / "vp.db"}"
secret_key_file = "{tmp_path / "secret.key"}"
[monitor]
planner_tick_s = 0.5
jitter = 0.0
lease_s = 15
[monitor.intervals]
reachability = 2
stream = 3
[monitor.timeouts]
reachability = 6
stream = 12
[probes.onvif]
timeout_s = 3
[probes.rtsp]
timeout_s = 3
[probes.stream]
timeout_s = 8
window_s = 1.5
second_keyframe_delay_s = 1.0
[alerts]
group_wait_s = 2
correlation_window_s = 2
retry_base_s = 1
retry_max_s = 2
[channels.email]
host = "127.0.0.1"
port = {smtp_port}
[channels.mqtt]
topic_prefix = "{mqtt_prefix}"
"""


def start_sim(env: dict[str, str], tmp_path, cameras: int, rtsp_port: int, onvif_port: int):
    """`vp-monitor sim` in its own process, logging to sim.log; returns it and the path of the
    registry CSV it writes once its cameras listen."""
    csv_path = tmp_path / "fleet.csv"
    with (tmp_path / "sim.log").open("w") as log:  # the child keeps its own copy
        sim = subprocess.Popen(
            [sys.executable, "-m", "vp_monitor", "sim", "--cameras", str(cameras),
             "--rtsp-port", str(rtsp_port), "--onvif-port", str(onvif_port),
             "--discovery-port", "0", "--write-csv", str(csv_path)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return sim, csv_path


def stop(*processes: subprocess.Popen | None) -> None:
    """SIGTERM each, then SIGKILL what has not ended within 20 s."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(20)
        process.kill()


def start_serve(env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vp_monitor", "serve", "--role", "poller"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.mark.timeout(420)
async def test_fleet_faults_kill_restart_every_message_once(tmp_path):
    """Faults reach webhook, SMTP and MQTT; SIGKILL mid-storm loses and doubles nothing."""
    receivers = Receivers()
    webhook_runner, webhook_url = await start_webhook(receivers)
    smtp = start_smtp(receivers)
    channels = ["webhook", "email"]
    mqtt_prefix = f"vp-e2e-{uuid.uuid4().hex[:8]}"
    mqtt_task, mqtt_ready = None, asyncio.Event()
    if mqtt_available():
        channels.append("mqtt")
        mqtt_task = asyncio.create_task(watch_mqtt(receivers, mqtt_prefix, mqtt_ready))
        await asyncio.wait_for(mqtt_ready.wait(), 10)
    rtsp_port, onvif_port = random.randrange(20000, 30000), random.randrange(30000, 40000)
    config = tmp_path / "vp.toml"
    config.write_text(config_text(tmp_path, smtp.port, mqtt_prefix))
    env = {**os.environ, "VP_CONFIG": str(config), "VP_ACTOR": "e2e"}
    env.pop("VP_SECRET_KEY", None)
    sim, csv_path = start_sim(env, tmp_path, len(CAMERAS), rtsp_port, onvif_port)
    serve_log = (tmp_path / "serve.log").open("w")
    serve = None
    database = str(tmp_path / "vp.db")
    try:
        await wait_for(csv_path.exists, 60, "the simulator's registry CSV")
        cli(env, "db", "upgrade")  # only db upgrade (and demo) create a database
        cli(env, "municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt")
        cli(env, "camera", "import", str(csv_path))
        cli(env, "contact", "add", "CSU", "--channel", "webhook", "--address", webhook_url,
            "--secret-stdin", input="e2e-key\n")  # fmt: skip
        cli(env, "contact", "add", "PM", "--channel", "email", "--address", "pm@bb.invalid",
            "--municipality", "92012")  # fmt: skip
        if "mqtt" in channels:
            cli(env, "contact", "add", "Bus", "--channel", "mqtt", "--address", mqtt_prefix)
        serve = start_serve(env, serve_log)

        def everywhere(code: str, event: str) -> bool:
            return all(receivers.seen(channel, code, event) for channel in channels)

        await wait_for(
            lambda: os.path.exists(database) and set(states(database).values()) == {"ok"}
            and len(states(database)) == len(CAMERAS), 120, "every camera ok",
        )  # fmt: skip

        await set_fault(onvif_port, "cam001", FAULTS["cam001"])
        await set_fault(onvif_port, "cam002", FAULTS["cam002"])
        first = ("cam001", "cam002")
        await wait_for(lambda: any(receivers.seen("webhook", c, "opened") for c in first),
                       120, "a first alert")  # fmt: skip
        await set_fault(onvif_port, "cam003", FAULTS["cam003"])
        await asyncio.sleep(2)
        serve.send_signal(signal.SIGKILL)  # mid-storm: cam003 and maybe cam002 still in flight
        serve.wait(10)
        serve = start_serve(env, serve_log)
        for code in FAULTS:
            await wait_for(lambda code=code: everywhere(code, "opened"), 150, f"{code} opened")
        for code in FAULTS:
            await set_fault(onvif_port, code, "none")
        for code in FAULTS:
            await wait_for(lambda code=code: everywhere(code, "resolved"), 150, f"{code} back")
        await asyncio.sleep(3)  # anything duplicated would arrive now
    finally:
        print("events:", json.dumps(receivers.events, indent=1))  # shown when the test fails
        if os.path.exists(database):
            print("states:", states(database), "incidents:", incident_counts(database))
        stop(serve, sim)
        if mqtt_task is not None:
            mqtt_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await mqtt_task
        smtp.stop()
        await webhook_runner.cleanup()
        serve_log.close()

    assert incident_counts(database) == {code: 1 for code in FAULTS}, "an incident opened twice"
    for channel in ("webhook", "mqtt") if "mqtt" in channels else ("webhook",):
        per_camera = defaultdict(set)
        for code, incident_id, event in receivers.events[channel]:
            per_camera[code].add(incident_id)
            assert event in ("opened", "resolved", "acknowledged", "escalated", "reminder")
        assert HEALTHY not in per_camera, f"{channel}: the healthy camera was reported"
        assert all(len(ids) == 1 for ids in per_camera.values()), f"{channel}: {per_camera}"
        opened = [(c, e) for c, _i, e in receivers.events[channel] if e == "opened"]
        assert sorted(opened) == sorted((code, "opened") for code in FAULTS), opened
