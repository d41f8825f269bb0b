"""Nodes sharing a database: heartbeat rows and `vp-monitor nodes`, periodic jobs run by one node
per period, one node per SQLite file, and a stop that finishes checks and gives back the rest."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from vp_monitor.alerts.channels import ChannelSettings
from vp_monitor.cli import main
from vp_monitor.db import make_engine, session_factory, transaction, utcnow
from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.evaluator import TierResult
from vp_monitor.monitor.models import CheckSchedule
from vp_monitor.monitor.nodes import (
    Heartbeat,
    Node,
    NodeRunning,
    claim_periodic,
    hold_single_node,
    node_records,
    prune_nodes,
    running_message,
)
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.registry.models import Camera, Municipality, Site

# Jobs every node runs for itself; every other job must be a fleet job (one node per period).
PER_NODE_JOBS = {"planner-tick", "heartbeat", "alerts-dispatch"}


def add_cameras(factory, count: int) -> None:
    with transaction(factory) as session:
        town = Municipality(insee="78646", name="Versailles", departement="78")
        site = Site(name="Gare", municipality=town)
        session.add_all([Camera(code=f"VER-{n}", site=site, municipality=town)
                         for n in range(count)])  # fmt: skip


# -- heartbeat and `vp-monitor nodes` ----------------------------------------------------------
def test_heartbeat_writes_the_node_row_with_its_check_rate_and_leave_deletes_it(factory):
    """A beat writes host, pid, version, role and last seen; the next one the checks per minute
    since the previous beat; leave() deletes the row."""
    heartbeat = Heartbeat(factory, "node-a", "poller")
    heartbeat.beat(0)
    time.sleep(0.2)
    heartbeat.beat(10)
    with factory() as session:
        node = session.get(Node, "node-a")
        assert node.role == "poller" and node.pid > 0 and node.host and node.version
        assert node.last_seen_at > node.started_at
        # 10 checks in ~0.2 s: ~3,000 a minute (a loaded machine makes the gap longer).
        assert 300 < node.checks_per_minute <= 3000
    heartbeat.leave()
    with factory() as session:
        assert session.get(Node, "node-a") is None


def test_nodes_are_live_then_stale_then_removed_after_retention(factory):
    """A node not seen for node_stale_s is stale; one not seen for the retention is deleted."""
    Heartbeat(factory, "node-a", "all").beat()
    Heartbeat(factory, "node-b", "poller").beat()
    now = utcnow()
    with transaction(factory) as session:
        session.get(Node, "node-b").last_seen_at = now - timedelta(minutes=5)
    with factory() as session:
        statuses = {r["id"]: r["status"] for r in node_records(session, now, stale_s=30)}
    assert statuses == {"node-a": "live", "node-b": "stale"}
    with transaction(factory) as session:
        later = now + timedelta(days=7, minutes=-1)  # node-b unseen for 7 days, node-a not yet
        assert prune_nodes(session, later, retention_days=7) == 1
        assert [n.id for n in session.scalars(select(Node))] == ["node-a"]


def test_nodes_command_lists_live_and_stale_nodes(database_url, factory):
    """`vp-monitor nodes --json` lists each node with its status; the table shows them too."""
    Heartbeat(factory, "node-a", "all").beat()
    Heartbeat(factory, "node-old", "poller").beat()
    with transaction(factory) as session:
        session.get(Node, "node-old").last_seen_at = utcnow() - timedelta(hours=2)
    runner = CliRunner()
    result = runner.invoke(main, ["--database-url", database_url, "nodes", "--json"])
    assert result.exit_code == 0, result.output
    records = {record["id"]: record for record in json.loads(result.output)}
    assert {k: r["status"] for k, r in records.items()} == {"node-a": "live", "node-old": "stale"}
    assert records["node-a"]["role"] == "all" and records["node-old"]["seen_ago_s"] >= 7200
    table = runner.invoke(main, ["--database-url", database_url, "nodes"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "node-old" in table.output and "stale" in table.output


# -- periodic jobs: one node per period ------------------------------------------------------
def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several nodes share PostgreSQL only (SQLite serves one node)")


async def test_two_nodes_schedulers_run_a_fleet_job_once_per_period(database_url):
    """Two nodes' schedulers both try a 0.5 s job for 3 s: it runs ~6 times, not ~12, never
    on both at once, and each run is recorded with the node that did it."""
    postgresql_only(database_url)
    engines = [make_engine(database_url) for _ in range(2)]
    monitors = [Monitor(engine, MonitorSettings(node=f"node-{name}"))
                for engine, name in zip(engines, "ab", strict=True)]  # fmt: skip
    runs: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def job_of(node: str):
        def job(session: Any) -> None:
            started = time.monotonic()
            time.sleep(0.1)  # long enough for the other node to fire meanwhile, sometimes
            with lock:
                runs.append((node, started, time.monotonic()))

        return job

    try:
        for monitor in monitors:
            await monitor.start()
            monitor.add_fleet_job(job_of(monitor.owner), 0.5, "test-job")
            await asyncio.sleep(0.2)  # the second node fires 0.2 s after the first
        await asyncio.sleep(3.0)
    finally:
        for monitor in monitors:
            await monitor.stop()
        for engine in engines:
            engine.dispose()
    assert 4 <= len(runs) <= 8, runs  # ~6 periods; each node alone would run ~6 times
    ordered = sorted(runs, key=lambda run: run[1])
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert after[1] >= before[2], "the job ran on two nodes at once"
        assert after[1] - before[1] >= 0.5 * 0.85, "the job ran twice in one period"


def test_a_fleet_job_under_way_on_one_node_is_skipped_by_another_without_waiting(engine):
    """While node A's transaction runs a job, node B's claim returns False at once; after A's
    run, B cannot run it again in the same period; once due again, B can."""
    if engine.dialect.name != "postgresql":
        with session_factory(engine)() as session:
            assert claim_periodic(session, "retention", 60, "node-a", utcnow())  # one node
        return
    factory = session_factory(engine)
    now = utcnow()
    with transaction(factory) as running:
        assert claim_periodic(running, "retention", 60, "node-a", now)
        started = time.monotonic()
        with transaction(factory) as other:
            assert not claim_periodic(other, "retention", 60, "node-b", now)
        assert time.monotonic() - started < 1.0, "the other node waited for the lock"
    with transaction(factory) as other:
        assert not claim_periodic(other, "retention", 60, "node-b", now + timedelta(seconds=30))
    with transaction(factory) as other:
        assert claim_periodic(other, "retention", 60, "node-b", now + timedelta(seconds=60))


async def test_every_periodic_job_but_per_node_work_runs_on_one_node(engine):
    """Guard: each job serve schedules is either per-node work (claiming checks, heartbeat,
    sending leased deliveries) or a fleet job; a new job that skips add_fleet_job fails here."""
    monitor = Monitor(engine, MonitorSettings(node="node-a"), channel_settings=ChannelSettings())
    await monitor.start()
    try:
        scheduled = {job.id for job in monitor.scheduler.get_jobs()}
    finally:
        await monitor.stop()
    assert {"retention", "availability-rollup", "schedule-sync", "alerts-escalation",
            "alerts-group", "alerts-reports"} <= monitor.fleet_jobs  # fmt: skip
    assert scheduled - monitor.fleet_jobs == PER_NODE_JOBS


# -- one node per SQLite file ----------------------------------------------------------------
def test_a_second_node_on_one_sqlite_file_is_refused_naming_the_first(tmp_path):
    """The lock file refuses a second holder with the first node's host, pid and start time;
    once the first lets go (closed, or its process died), a new node takes it."""
    url = f"sqlite:///{tmp_path / 'vp.db'}"
    first = hold_single_node(url, "host-1-111")
    engine = make_engine(url)
    from vp_monitor.db import upgrade

    upgrade(engine)
    Heartbeat(session_factory(engine), "host-1-111", "all").beat()
    with pytest.raises(NodeRunning) as refused:
        hold_single_node(url, "host-1-222")
    message = str(running_message(engine, refused.value.holder))
    assert f"node host-1-111 on host {socket.gethostname()}, pid {os.getpid()}, since" in message
    first.close()
    again = hold_single_node(url, "host-1-222")  # the stale row does not block
    again.close()
    assert hold_single_node("postgresql+psycopg://db.invalid/vp", "node-a") is None
    engine.dispose()


# -- stop: finish checks under way, give back the rest ---------------------------------------
def schedule_rows(factory) -> dict[int, tuple[Any, str | None, Any]]:
    with factory() as session:
        rows = session.scalars(select(CheckSchedule))
        return {r.id: (r.next_due_at, r.lease_owner, r.last_finished_at) for r in rows}


async def stopped_while_checking(engine, check_s: float, stop_wait_s: float):
    """Three cameras' nine checks claimed, one worker busy on the first; stop. Returns the
    schedule rows before the claim and after the stop, and the first check's schedule id."""
    factory = session_factory(engine)
    add_cameras(factory, 3)
    started = asyncio.Event()

    async def check(tier, target, *args) -> TierResult:
        started.set()
        await asyncio.sleep(check_s)
        return TierResult(tier, frozenset(), frozenset(), True)

    settings = MonitorSettings(node="node-a", concurrency=1, stop_wait_s=stop_wait_s)
    monitor = Monitor(engine, settings, check=check)
    await monitor._db(monitor._sync_schedule)
    before = schedule_rows(factory)
    monitor._start_pipeline()
    jobs = await monitor._db(monitor._claim, 100, True)
    assert len(jobs) == 9
    for job in jobs:
        monitor.runner.admit(job)
    await asyncio.wait_for(started.wait(), 5)
    begun = time.monotonic()
    await monitor.stop()
    return before, schedule_rows(factory), jobs[0].claim.schedule_id, time.monotonic() - begun


async def test_stop_finishes_the_check_under_way_and_gives_back_the_rest_as_due(engine):
    """The running check finishes and is recorded (its next due time moved on); the eight
    queued ones are given back with the due time they had before their claim; no lease left."""
    before, after, running, _ = await stopped_while_checking(engine, 0.5, stop_wait_s=10)
    assert all(owner is None for _, owner, _ in after.values())
    assert after[running][2] is not None and after[running][0] > before[running][0]
    for schedule_id, (due, _, finished) in after.items():
        if schedule_id != running:
            assert finished is None and due == before[schedule_id][0]


async def test_stop_cancels_a_check_still_running_after_the_wait_and_gives_it_back(engine):
    """A check longer than stop_wait_s is cancelled at the end of the wait and given back as
    due as before: the stop does not hang, and no lease is left behind."""
    before, after, running, took = await stopped_while_checking(engine, 60, stop_wait_s=0.3)
    assert took < 10
    assert all(owner is None for _, owner, _ in after.values())
    assert after[running][2] is None and after[running][0] == before[running][0]
