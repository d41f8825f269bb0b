"""Metrics, readiness and health: a real monitor check on simulated cameras, then the exposition
parsed with prometheus-client's own parser; readiness with the database away or silent, the
scheduler stopped and the decoder pool's workers killed; the aiohttp handlers over a socket."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from test_monitor import FAST_MONITOR, FAST_PROBES, register, served_fleet, set_fault, wait_for

from vp_monitor import metrics
from vp_monitor.alerts import outbox
from vp_monitor.alerts.channel_settings import WebhookSettings
from vp_monitor.alerts.channels.webhook import WebhookChannel
from vp_monitor.alerts.models import OutboxEvent
from vp_monitor.alerts.notification import IncidentEvent
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import make_engine, session_factory, transaction, utcnow
from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.models import CameraStatus
from vp_monitor.probes.capture import DecodeJob, close_decoder_pool, decoder_pool
from vp_monitor.registry.models import Contact
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.service.operations import Operations
from vp_monitor.texts import Texts

pytestmark = pytest.mark.timeout(60)


def scraped(exposition: bytes) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition by name and labels, parsed by prometheus-client."""
    samples = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def two_cameras(gop_cache):
    """Two simulated cameras (ONVIF + RTSP) on loopback addresses of their own."""
    async with served_fleet(gop_cache, [61_001, 61_002]) as cameras:
        yield cameras


def add_waiting_event(engine, age_s: float) -> None:
    """A webhook contact (nobody listening) with one outbox event not yet delivered, created
    `age_s` ago."""
    hook = f"http://127.0.0.1:{free_port('127.0.0.1')}/hook"
    event = IncidentEvent(
        incident_id="inc-1", event="opened", severity="major", conditions=("black",),
        camera_code="C-1", camera_name="", site_name="Gare", municipality_name="Versailles",
        camera_state="degraded", started_at=utcnow(),
    )  # fmt: skip
    with transaction(session_factory(engine)) as session:
        contact = Contact(name="CSU", channel="webhook", address=hook)
        session.add(contact)
        session.flush()
        session.add(OutboxEvent(contact_id=contact.id, incident_id="inc-1",
                                payload=event.to_dict(),
                                created_at=utcnow() - timedelta(seconds=age_s)))  # fmt: skip


async def test_scrape_after_a_real_check(engine, two_cameras, secret_key):
    """After one round of checks, the exposition counts them (histogram per tier, lateness,
    probe failures), shows cameras by state as the database has them and the waiting event."""
    healthy, black = two_cameras
    box = SecretBox(secret_key.encode())
    register(engine, two_cameras, box)
    await set_fault(black, "black")
    before = scraped(metrics.exposition())
    monitor = Monitor(engine, FAST_MONITOR, probe_settings=FAST_PROBES, secrets=box)
    ran = await monitor.run_once()
    assert ran == 6  # two cameras, three tiers
    add_waiting_event(engine, age_s=120)
    operations = Operations(engine)
    try:
        after = scraped(await operations.scrape())
    finally:
        operations.close()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("vp_check_duration_seconds_count", tier="stream") == 2
    assert grew("vp_check_duration_seconds_count", tier="reachability") == 2
    assert grew("vp_checks_total", tier="stream") == 2
    assert grew("vp_scheduler_lateness_seconds_count", tier="stream") == 2
    assert grew("vp_probe_failures_total", probe="picture", condition="black") >= 1
    with session_factory(engine)() as session:
        states = Counter(session.scalars(select(CameraStatus.state)))
    assert sum(states.values()) == 2
    for state in ("unknown", "ok", "degraded", "down", "maintenance"):
        assert value(after, "vp_cameras", municipality="78646", state=state) == states[state]
    waiting, sending = {"stage": "waiting"}, {"stage": "sending"}
    assert value(after, "vp_outbox_undelivered", channel="webhook", **waiting) == 1
    assert value(after, "vp_outbox_undelivered", channel="webhook", **sending) == 0
    assert value(after, "vp_outbox_undelivered", channel="email", **waiting) == 0
    age = value(after, "vp_outbox_oldest_undelivered_age_seconds", channel="webhook", **waiting)
    assert 120 <= age < 180
    assert value(after, "vp_fleet_figures_up") == 1


async def test_an_overrun_is_counted(engine, two_cameras, secret_key):
    """A camera that accepts connections and never answers overruns its reachability deadline:
    counted by tier, its duration at the deadline; the answering camera does not overrun."""
    answering, hung = two_cameras
    box = SecretBox(secret_key.encode())
    register(engine, two_cameras, box)
    await set_fault(hung, "hang")
    # Short deadlines: the hung camera's other tiers need not wait for their probes either.
    deadlines = {"reachability": 1.0, "stream": 1.0, "inventory": 2.0}
    settings = FAST_MONITOR.model_copy(
        update={"timeouts": FAST_MONITOR.timeouts.model_copy(update=deadlines)}
    )
    before = scraped(metrics.exposition())
    await Monitor(engine, settings, probe_settings=FAST_PROBES, secrets=box).run_once()
    after = scraped(metrics.exposition())

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("vp_check_overruns_total", tier="reachability") == 1
    assert grew("vp_checks_total", tier="reachability") == 2
    # The overrun's duration is its deadline: in the 1-2 s bucket, not below.
    assert grew("vp_check_duration_seconds_bucket", tier="reachability", le="0.5") <= 1
    assert grew("vp_check_duration_seconds_bucket", tier="reachability", le="1.0") <= 1
    assert grew("vp_check_duration_seconds_bucket", tier="reachability", le="2.0") == 2


async def test_delivery_outcomes_are_counted(engine):
    """A webhook nobody listens on: the attempt is counted as a retry; given up, the delivery is
    counted failed in the database figures and leaves the backlog."""
    add_waiting_event(engine, age_s=600)
    factory = session_factory(engine)
    settings = AlertSettings(give_up_after_s=60)
    with transaction(factory) as session:
        assert outbox.group_once(session, settings, utcnow()) == 1
    channels = {"webhook": WebhookChannel(WebhookSettings(timeout_s=2))}
    operations = Operations(engine, cache_s=0)
    try:
        before = scraped(operations.exposition())
        assert value(before, "vp_outbox_undelivered", channel="webhook", stage="sending") == 1
        assert value(before, "vp_outbox_undelivered", channel="webhook", stage="waiting") == 0
        # The delivery was made just now: not too old yet, so the refused connection is a retry.
        assert await outbox.dispatch_once(factory, channels, settings, utcnow()) == 0
        retried = scraped(operations.exposition())
        grew = value(retried, "vp_delivery_attempts_total", channel="webhook", outcome="retry")
        assert grew - value(before, "vp_delivery_attempts_total", channel="webhook",
                            outcome="retry") == 1  # fmt: skip
        later = utcnow() + timedelta(minutes=10)
        assert await outbox.dispatch_once(factory, channels, settings, later) == 0
        after = scraped(operations.exposition())
    finally:
        operations.close()
    assert value(after, "vp_deliveries_failed", channel="webhook") == 1
    assert value(retried, "vp_outbox_undelivered", channel="webhook", stage="sending") == 1
    assert value(after, "vp_outbox_undelivered", channel="webhook", stage="sending") == 0
    assert value(after, "vp_outbox_oldest_undelivered_age_seconds", channel="webhook",
                 stage="sending") == 0  # fmt: skip
    assert value(after, "vp_delivery_attempts_total", channel="webhook", outcome="failed") >= 1


def test_scrapes_share_one_database_read(engine):
    """Ten scrapes within the cache period read the database once."""
    operations = Operations(engine, cache_s=60)
    try:
        for _ in range(10):
            samples = scraped(operations.exposition())
        assert operations.fleet.reads == 1
        assert value(samples, "vp_fleet_figures_up") == 1
    finally:
        operations.close()


# -- readiness -----------------------------------------------------------------------------------
def away_url(kind: str, tmp_path) -> str:
    if kind == "sqlite":  # a file in a directory that does not exist cannot be opened
        return f"sqlite:///{tmp_path}/missing/vp-monitor.db"
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port('127.0.0.1')}/test"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_not_ready_when_the_database_is_away(kind, tmp_path):
    """No database: not ready, the reason in French and English; the scrape still answers, with
    its figures marked down, and the driver's errors are counted."""
    engine = make_engine(away_url(kind, tmp_path))
    errors_before = value(scraped(metrics.exposition()), "vp_database_errors_total",
                          error="OperationalError")  # fmt: skip
    operations = Operations(engine, texts=Texts("fr"))
    try:
        ready, reasons = await operations.readiness()
        assert not ready and reasons == ["base de données injoignable (OperationalError)"]
        ready, reasons = await operations.readiness(Texts("en"))
        assert reasons == ["database unreachable (OperationalError)"]
        samples = scraped(await operations.scrape())
        # Scrapes just after a failed read do not ask the database again. (A scrape shows the
        # process's counters before its own read of the figures: compare later scrapes.)
        again = [scraped(await operations.scrape()) for _ in range(5)]
    finally:
        operations.close()
        engine.dispose()
    assert value(samples, "vp_fleet_figures_up") == 0
    assert value(again[-1], "vp_fleet_figures_up") == 0
    errors_after = [value(each, "vp_database_errors_total", error="OperationalError")
                    for each in again]  # fmt: skip
    assert errors_after == [errors_after[0]] * 5
    assert ("vp_cameras", frozenset()) not in samples
    errors = value(samples, "vp_database_errors_total", error="OperationalError")
    assert errors >= errors_before + 2  # a readiness probe and a scrape, at least


async def test_not_ready_when_the_database_is_silent():
    """A server that accepts connections and never answers: readiness says so within its
    time-out instead of hanging."""
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    operations = Operations(engine, ready_timeout_s=0.5, timeout_s=0.5)
    try:
        started = time.monotonic()
        ready, reasons = await operations.readiness(Texts("en"))
        assert not ready and reasons == ["the database did not answer within 0.5 s"]
        # A second probe while the first still hangs shares it: no second stuck thread.
        first = operations.probing
        await operations.readiness()
        assert operations.probing is first
        samples = scraped(await operations.scrape())
        assert value(samples, "vp_fleet_figures_up") == 0
        assert time.monotonic() - started < 3
    finally:
        operations.close()
        silent.close()


async def test_ready_with_a_running_monitor_then_not_once_stopped(engine):
    """A process running the monitor is ready while its scheduler runs, not after it stopped."""
    monitor = Monitor(engine, FAST_MONITOR)
    operations = Operations(engine, monitor)
    try:
        await monitor.start()
        assert await operations.readiness() == (True, [])
        await wait_for(lambda: monitor.last_tick is not None, 5, "the first planner tick")
        monitor.scheduler.pause()  # no more ticks, the scheduler still "running"
        await wait_for(lambda: not monitor.running_jobs, 5, "the jobs under way")
        monitor.last_tick -= 3600  # and as if that had lasted an hour
        ready, reasons = await operations.readiness(Texts("en"))
        assert reasons == ["the check scheduler is stalled (no recent planner run)"]
        monitor.scheduler.resume()
        await asyncio.sleep(FAST_MONITOR.planner_tick_s * 2)  # the next tick clears it
        assert await operations.readiness() == (True, [])
        await monitor.stop()
        ready, reasons = await operations.readiness(Texts("en"))
        assert not ready and reasons == ["the check scheduler is stopped"]
    finally:
        await monitor.stop()
        operations.close()


async def test_not_ready_when_every_decoder_worker_died(engine):
    """The decoder pool's workers killed: not ready; the next decode replaces them: ready."""
    close_decoder_pool()
    pool = decoder_pool(1)
    monitor = Monitor(engine, FAST_MONITOR)
    monitor.scheduler.start()  # the scheduler runs; only the pool is under test
    operations = Operations(engine, monitor)
    try:
        await pool.decode(DecodeJob("h264"))  # starts the worker, which stays idle
        assert await operations.readiness() == (True, [])
        for pid in [worker.process.pid for worker in pool._idle]:
            os.kill(pid, signal.SIGKILL)
        for worker in pool._idle:
            worker.process.join(timeout=5)
        ready, reasons = await operations.readiness(Texts("en"))
        assert not ready and reasons == ["every video decoder process has died"]
        await pool.decode(DecodeJob("h264"))
        assert await operations.readiness() == (True, [])
    finally:
        monitor.scheduler.shutdown(wait=False)
        operations.close()
        close_decoder_pool()


# -- the documented alert rules ------------------------------------------------------------------
def documented_rules() -> list[dict]:
    """The rules of the YAML block in docs/operations.md."""
    groups = yaml.safe_load(documented_rules_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def documented_rules_text() -> str:
    """The YAML block of docs/operations.md."""
    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    return re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)


def test_documented_alert_rules_name_metrics_we_serve(engine):
    """Every metric an alert rule names is in the exposition (a rule on a renamed metric would
    never fire)."""
    Monitor(engine, FAST_MONITOR)  # its runner declares the check series of every tier
    operations = Operations(engine)
    try:
        families = list(text_string_to_metric_families(operations.exposition().decode()))
    finally:
        operations.close()
    served = {family.name for family in families}
    served |= {sample.name for family in families for sample in family.samples}
    rules = documented_rules()
    assert {rule["alert"] for rule in rules} >= {"VpMonitorNotChecking", "VpOutboxStuck"}
    for rule in rules:
        named = set(re.findall(r"\bvp_\w+", rule["expr"]))
        assert named, rule["alert"]
        for name in named:
            base = re.sub(r"_(bucket|count|sum|total)$", "", name)
            assert name in served or base in served, f"{rule['alert']}: {name} is not served"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus) absent")
def test_documented_alert_rules_fire(tmp_path):
    """Prometheus's own rule checker loads the rules and, on made-up series, fires "monitor not
    checking", "poller not checking" and "outbox stuck" as alert_rules_test.yml expects."""
    (tmp_path / "rules.yml").write_text(documented_rules_text())
    shutil.copy(Path(__file__).with_name("alert_rules_test.yml"), tmp_path / "test.yml")
    for command in (["check", "rules", "rules.yml"], ["test", "rules", "test.yml"]):
        done = subprocess.run(["promtool", *command], cwd=tmp_path, capture_output=True,
                              text=True, timeout=30)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
