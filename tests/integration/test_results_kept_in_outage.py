"""The monitor's result writer while the disk of its SQLite file is full (a 4 MB tmpfs the test
mounts and fills): results are kept, not lost, and written with their leases given back when
space returns; a kept result whose lease ran out meanwhile is dropped, its check due again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from vp_monitor.db import make_engine, session_factory, transaction, utcnow
from vp_monitor.db_health import health_of
from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.evaluator import TierResult
from vp_monitor.monitor.models import CameraStatus, CheckSchedule
from vp_monitor.monitor.planner import claim_due, ensure_schedule
from vp_monitor.monitor.runner import Job
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeTarget
from vp_monitor.registry.models import Camera, Municipality, Site


def fill(directory) -> None:
    descriptor = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)


@pytest.mark.timeout(60)
async def test_results_kept_while_the_disk_is_full_are_written_when_space_returns(
    small_disk, migrated_templates
):
    database = small_disk / "vp.db"
    shutil.copyfile(migrated_templates["sqlite"], database)
    engine = make_engine(f"sqlite:///{database}")
    factory = session_factory(engine)
    monitor = Monitor(engine, MonitorSettings(node="node-a", down_after=1))
    try:
        with transaction(factory) as session:
            town = Municipality(insee="78646", name="Versailles", departement="78")
            site = Site(name="Gare", municipality=town)
            session.add_all([Camera(code=f"VER-{n}", site=site, municipality=town)
                             for n in range(2)])  # fmt: skip
            session.flush()
            ensure_schedule(session, monitor.settings, utcnow())
            claims = claim_due(session, monitor.owner, utcnow(), 100, never_run=True)
        reach = sorted((c for c in claims if c.tier == "reachability"), key=lambda c: c.camera_id)
        kept, expired = reach[0], reach[1]
        # The second one's lease runs out during the outage (as after one longer than lease_s).
        expired = replace(expired, lease_expires_at=utcnow() + timedelta(seconds=1))
        down = TierResult("reachability", frozenset({"unreachable"}), frozenset({"unreachable"}),
                          False)  # fmt: skip
        batch = [(Job(c, ProbeTarget(f"VER-{c.camera_id}")), down) for c in (kept, expired)]

        fill(small_disk)
        writing = asyncio.create_task(monitor._write(batch))
        await asyncio.sleep(3)  # several attempts, each refused: disk full
        assert not writing.done()
        health = health_of(engine)
        assert not health.available and health.kind == "disk_full"
        (small_disk / "filler").unlink()
        await asyncio.wait_for(writing, 10)
        assert health.available
        with factory() as session:
            states = dict(session.execute(select(CameraStatus.camera_id, CameraStatus.state)).all())
            owners = dict(session.execute(
                select(CheckSchedule.id, CheckSchedule.lease_owner)).all())  # fmt: skip
        assert states.get(kept.camera_id) == "down"  # written when space came back
        assert owners[kept.schedule_id] is None  # and its lease given back
        assert states.get(expired.camera_id) != "down"  # dropped: its lease had run out
        assert monitor.checks_done == 1
        with contextlib.closing(engine.raw_connection()) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        monitor.db.shutdown()
        engine.dispose()
