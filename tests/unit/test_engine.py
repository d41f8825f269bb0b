"""The monitor's result writer: a batch of results in one transaction, on SQLite and PostgreSQL,
without losing a result to another's fault, a lease to another node, or an alert to batching."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from vp_monitor.alerts.models import Incident
from vp_monitor.conditions import observed_by
from vp_monitor.db import transaction
from vp_monitor.monitor.engine import Monitor, load_jobs
from vp_monitor.monitor.evaluator import JUDGING_TIERS, TierResult, new_status
from vp_monitor.monitor.models import CameraStatus, CheckRecord, CheckSchedule
from vp_monitor.monitor.planner import Claim, claim_due, ensure_schedule
from vp_monitor.monitor.runner import Job
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeTarget
from vp_monitor.registry.models import Camera, Municipality, Site

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
# Every condition a failing reachability check judges (condition table).
REACH = observed_by("onvif", answered=False) | observed_by("rtsp", False)


def result(*conditions: str, tier: str = "reachability", **extra: Any) -> TierResult:
    """A result of `tier` that could see every reachability condition; video_ok unless one."""
    return TierResult(tier, frozenset(conditions), REACH, not conditions, **extra)


@pytest.fixture
def cameras(factory) -> list[int]:
    """Three active cameras on one site, every judging tier run once already; their ids."""
    with transaction(factory) as session:
        town = Municipality(insee="78646", name="Versailles", departement="78")
        site = Site(name="Gare", municipality=town)
        session.add_all([Camera(code=f"VER-{n}", site=site, municipality=town) for n in range(3)])
        session.flush()
        ids = list(session.scalars(select(Camera.id).order_by(Camera.id)))
        for camera_id in ids:  # the states below follow each result, not the first checks
            status = new_status(camera_id)
            status.tiers_checked = sorted(JUDGING_TIERS)
            session.add(status)
        return ids


def claims(factory, monitor: Monitor) -> dict[tuple[int, str], Claim]:
    """Every check of every camera, leased to `monitor`, by (camera id, tier)."""
    with transaction(factory) as session:
        ensure_schedule(session, monitor.settings, T0)
        got = claim_due(session, monitor.owner, T0, 100, never_run=True)
    return {(claim.camera_id, claim.tier): claim for claim in got}


def job(claim: Claim) -> Job:
    return Job(claim, ProbeTarget(f"cam-{claim.camera_id}"))


def state(factory, camera_id: int) -> str | None:
    with factory() as session:
        status = session.get(CameraStatus, camera_id)
        return status.state if status else None


def lease_owner(factory, claim: Claim) -> str | None:
    with factory() as session:
        return session.get(CheckSchedule, claim.schedule_id).lease_owner


def test_a_bad_result_does_not_lose_the_others_of_its_batch(factory, cameras, monitor):
    """A result that cannot be stored fails alone: the others of its batch are written and their
    leases given back; its own lease stays, so it runs again when the lease expires."""
    held = claims(factory, monitor)
    first, bad, last = (held[(camera_id, "reachability")] for camera_id in cameras)
    unstorable = result(detail={"not json": object()})
    monitor._record([(job(first), result()), (job(bad), unstorable), (job(last), result())])
    assert [state(factory, camera_id) for camera_id in cameras] == ["ok", "unknown", "ok"]
    with factory() as session:
        written = session.scalars(select(CheckRecord.camera_id).order_by(CheckRecord.camera_id))
        assert list(written) == [first.camera_id, last.camera_id]
    assert [lease_owner(factory, claim) for claim in (first, bad, last)] == [None, "node-a", None]


def test_a_batch_does_not_release_a_lease_another_node_took_over(factory, cameras, monitor):
    """A check whose lease expired and was taken by another node: its result still counts, but
    the lease is that node's and stays so; the other leases of the batch are given back."""
    held = claims(factory, monitor)
    mine, lost = held[(cameras[0], "reachability")], held[(cameras[1], "reachability")]
    with transaction(factory) as session:
        session.get(CheckSchedule, lost.schedule_id).lease_owner = "node-b"
    monitor._record([(job(mine), result()), (job(lost), result())])
    assert lease_owner(factory, mine) is None and lease_owner(factory, lost) == "node-b"
    assert state(factory, lost.camera_id) == "ok"


def test_a_camera_down_then_back_in_one_batch_opens_and_resolves(factory, cameras, monitor):
    """Two results of one camera in one batch: the second sees the incident the first opened
    (alerting skipped for quiet results must not rely on what was open before the batch)."""
    held = claims(factory, monitor)
    camera_id = cameras[0]
    monitor._record([(job(held[(camera_id, "inventory")]), result(tier="inventory"))])
    down = (job(held[(camera_id, "reachability")]), result("unreachable"))
    back = (job(held[(camera_id, "stream")]), result(tier="stream"))
    changes = monitor._record([down, back])
    assert [change.state for _, change in changes] == ["down", "ok"]
    with factory() as session:
        [incident] = session.scalars(select(Incident).where(Incident.camera_id == camera_id))
        assert incident.status == "resolved"


def test_a_camera_that_stays_ok_still_ends_its_sites_outage(factory, cameras, monitor):
    """A check that changes nothing for its camera still lets the alert stage end the outage of
    the camera's site (an outage holding no camera incident ends when one camera answers)."""
    held = claims(factory, monitor)
    monitor._record([(job(held[(cameras[0], "reachability")]), result())])
    with transaction(factory) as session:
        site_id = session.get(Camera, cameras[0]).site_id
        session.add(Incident(id="site-outage", kind="site", site_id=site_id, status="open",
                             conditions=["site_down"], severity="critical", metrics={},
                             opened_at=T0, silenced=False, reopened_count=0,
                             escalation_level=0))  # fmt: skip
    changes = monitor._record([(job(held[(cameras[0], "stream")]), result(tier="stream"))])
    assert [(c.previous_state, c.state) for _, c in changes] == [("ok", "ok")]
    with factory() as session:
        assert session.get(Incident, "site-outage").status == "resolved"


def test_the_writer_keeps_history_rows_for_changes_and_heartbeats(factory, cameras, monitor):
    """Results that see what the tier's last row saw are not written again within
    history_every_s; a change is; a clean check keeps its figures, not what the camera said."""
    held = claims(factory, monitor)
    check = held[(cameras[0], "reachability")]
    probes = {
        "probes": {
            "onvif": {
                "ok": True,
                "metrics": {"clock_offset_s": 0.1},
                "detail": {"profiles": [{"rtsp_uri": "rtsp://x/main"}]},
            }
        }
    }
    timeline = [result(detail=probes)] * 3 + [result("unreachable")] + [result()] * 2
    for minute, outcome in enumerate(timeline):
        with transaction(factory) as session:
            monitor._apply(session, [(job(check), outcome)], T0 + timedelta(minutes=minute))
    with factory() as session:
        rows = session.scalars(select(CheckRecord).order_by(CheckRecord.at)).all()
    assert [(row.at - T0).total_seconds() / 60 for row in rows] == [0, 3, 4]
    assert [row.state for row in rows] == ["ok", "down", "ok"]
    assert rows[0].detail["probes"]["onvif"] == {"ok": True, "metrics": {"clock_offset_s": 0.1}}


async def test_stop_lets_a_periodic_job_under_way_finish(engine, caplog):
    """Stopping the monitor while a periodic job runs waits for it (its database work is not
    cut off) and logs no failed job."""
    monitor = Monitor(engine, MonitorSettings(node="node-a"))
    started, finished = threading.Event(), []

    def slow() -> None:
        started.set()
        time.sleep(0.5)
        finished.append(True)

    monitor.add_periodic(slow, 3600, "slow")
    await monitor.start()
    assert await asyncio.to_thread(started.wait, 5)
    with caplog.at_level(logging.WARNING):
        await monitor.stop()
    assert finished == [True]
    assert "Error running job" not in caplog.text


def test_a_claimed_checks_target_carries_the_conditions_open_on_its_camera(factory, cameras):
    """load_jobs gives each job's target the camera's open conditions and clock offset (a
    cheap check reads the whole device while one only that read clears is open)."""
    with transaction(factory) as session:
        status = session.get(CameraStatus, cameras[0])
        status.conditions, status.clock_offset_s = ["device_replaced"], 4.0
    with transaction(factory) as session:
        claims = [Claim(n, camera_id, 1, "reachability", 60.0, "node", T0, T0)
                  for n, camera_id in enumerate(cameras[:2])]  # fmt: skip
        first, second = load_jobs(session, claims)
    assert first.target.open_conditions == {"device_replaced"}
    assert first.target.clock_offset_s == 4.0
    assert second.target.open_conditions == frozenset()


async def test_a_tick_claims_batch_after_batch_while_checks_are_due(engine, factory, cameras):
    """One planner tick claims every due check the queue takes, in batches of batch_size, not
    one batch: one batch per tick capped a node at batch_size / planner_tick_s checks a second."""
    settings = MonitorSettings(node="node-a", batch_size=2, queue_size=100)
    monitor = Monitor(engine, settings)
    try:
        with transaction(factory) as session:
            ensure_schedule(session, settings, T0)  # 3 cameras x 3 tiers, all due by now
        await monitor.tick()  # no workers started: the claimed checks wait in the queue
        assert monitor.runner.queue.qsize() == 9
        await monitor.tick()
        assert monitor.runner.queue.qsize() == 9  # leased: not claimed twice
    finally:
        monitor.db.shutdown()


async def test_results_that_come_one_by_one_are_written_together(factory, cameras, monitor):
    """A transaction costs about the same for one result as for fifty: results finishing a few
    milliseconds apart (200 a second at 10,000 cameras) wait a moment for each other and are
    written in one batch, not one transaction each while the planner's claims wait."""
    held = claims(factory, monitor)
    batches: list[int] = []
    record = monitor._record

    def counted(batch):
        batches.append(len(batch))
        return record(batch)

    monitor._record = counted
    writer = asyncio.create_task(monitor._write_results())
    try:
        for camera_id in cameras:
            await monitor._submit(job(held[(camera_id, "reachability")]), result())
            await asyncio.sleep(0.02)
        await asyncio.wait_for(monitor.results.join(), 5)
    finally:
        writer.cancel()
    assert batches == [3]
    assert [state(factory, camera_id) for camera_id in cameras] == ["ok", "ok", "ok"]
