"""The monitor end to end: simulated cameras in a temporary database, faults injected through
the simulator's control API, states followed through hysteresis, overruns and restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import cv2
import numpy as np
import pytest
from ports import free_port
from sqlalchemy import func, select

from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.evaluator import TierResult
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.models import CameraStatus, CameraThumbnail, CheckRecord
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeSettings
from vp_monitor.registry.models import Camera, Municipality, Site
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.sim.camera import SimCamera, camera_address
from vp_monitor.sim.fleet import Fleet, FleetCamera, RunningFleet
from vp_monitor.sim.fleet import Site as SimSite

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow(seconds=130)]

FAST_PROBES = ProbeSettings.model_validate(
    {
        "onvif": {"timeout_s": 1.5},
        "rtsp": {"timeout_s": 1.5},
        "stream": {"timeout_s": 4.0, "window_s": 1.5, "second_keyframe_delay_s": 1.0},
    }
)
FAST_MONITOR = MonitorSettings(
    node="test-node",
    intervals={"reachability": 1, "stream": 2, "inventory": 3600},
    timeouts={"reachability": 2.5, "stream": 5, "inventory": 5},
    planner_tick_s=0.2,
    jitter=0.0,
    lease_s=30,
    concurrency=8,
    history_every_s=0,  # every check in the history: the tests count checks by their rows
)


@asynccontextmanager
async def served_fleet(gop_cache, indexes: list[int]) -> AsyncIterator[list[SimCamera]]:
    """Simulated cameras (ONVIF + RTSP) of these indexes, on their own loopback addresses, on
    one site, served until the block ends."""
    cameras = []
    for index in indexes:
        host = camera_address(index)
        cameras.append(SimCamera(index, host=host, rtsp_port=free_port(host),
                                 onvif_port=free_port(host)))  # fmt: skip
    site = SimSite("Test", "78646")
    running = RunningFleet(Fleet([FleetCamera(c, site) for c in cameras]), cache=gop_cache,
                           discovery_port=None)  # fmt: skip
    for camera in cameras:  # encode the loops now, not inside a check's deadline
        for stream in ("main", "sub"):
            await gop_cache.get(gop_cache.key_for(camera, stream))
    await running.start()
    try:
        yield cameras
    finally:
        await running.close()


@pytest.fixture
async def fleet(gop_cache):
    """Four simulated cameras."""
    async with served_fleet(gop_cache, random.sample(range(30_000, 60_000), 4)) as cameras:
        yield cameras


def register(engine, cameras: list[SimCamera], box: SecretBox) -> dict[str, int]:
    """Register the simulated cameras; their ids by code."""
    with transaction(session_factory(engine)) as session:
        town = Municipality(insee="78646", name="Versailles", departement="78")
        site = Site(name="Gare", municipality=town)
        for sim in cameras:
            base = f"rtsp://{sim.host}:{sim.rtsp_port}"
            session.add(Camera(
                code=sim.code, site=site, municipality=town, onvif_host=sim.host,
                onvif_port=sim.onvif_port, username="admin",
                password_encrypted=box.encrypt("admin"), rtsp_main=f"{base}/main",
                rtsp_sub=f"{base}/sub", serial=sim.serial, firmware=sim.firmware,
            ))  # fmt: skip
        session.flush()
        return {c.code: c.id for c in session.scalars(select(Camera))}


async def set_fault(camera: SimCamera, fault: str) -> None:
    """Switch a simulated camera's fault through its HTTP control API."""
    url = f"http://{camera.host}:{camera.onvif_port}/sim/fault"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.post(url, json={"fault": fault}) as response:
            assert response.status == 200, await response.text()


def statuses(engine) -> dict[int, CameraStatus]:
    with transaction(session_factory(engine)) as session:
        return {s.camera_id: s for s in session.scalars(select(CameraStatus))}


async def wait_for(
    condition: Callable[[], bool], timeout_s: float, what: str, show: Callable[[], object] = str
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {show()}"
        await asyncio.sleep(0.2)


def states(engine, ids: dict[str, int]) -> dict[str, tuple[str, list[str]]]:
    found = statuses(engine)
    return {code: (found[i].state, found[i].conditions) if i in found else ("-", [])
            for code, i in ids.items()}  # fmt: skip


def record_count(engine, camera_id: int) -> int:
    with transaction(session_factory(engine)) as session:
        query = select(func.count()).where(CheckRecord.camera_id == camera_id)
        return session.scalar(query.select_from(CheckRecord))


async def test_faults_go_through_hysteresis_and_recover(engine, fleet, secret_key):
    """black → degraded, refuse → down, hang → down at its time-out only; all recover; a restarted
    monitor opens nothing twice."""
    healthy, black, refused, hung = fleet
    box = SecretBox(secret_key.encode())
    ids = register(engine, fleet, box)
    changes: list[tuple[str, CameraChange]] = []

    def monitor() -> Monitor:
        return Monitor(engine, FAST_MONITOR, probe_settings=FAST_PROBES, secrets=box,
                       on_change=lambda code, change: changes.append((code, change)))  # fmt: skip

    first = monitor()
    await first.start()
    try:
        await wait_for(lambda: all(s == "ok" for s, _ in states(engine, ids).values()), 20,
                       "every camera ok")  # fmt: skip
        for camera, fault in ((black, "black"), (refused, "refuse"), (hung, "hang")):
            await set_fault(camera, fault)
        checks_before = record_count(engine, ids[healthy.code])
        expected = {
            healthy.code: ("ok", []), black.code: ("degraded", ["black"]),
            refused.code: ("down", ["unreachable"]),
        }  # fmt: skip

        def faults_shown() -> bool:
            found = states(engine, ids)
            hung_state, hung_conditions = found.pop(hung.code)
            # A hanging camera: no answer (unreachable), or a stream that never starts (no_video).
            hung_down = hung_state == "down" and set(hung_conditions) <= {"unreachable", "no_video"}
            return found == expected and hung_down

        await wait_for(faults_shown, 25, "faults to show", lambda: states(engine, ids))
        # The hanging camera costs its probes' deadlines (the clock read and RTSP side by side,
        # within the check's); the healthy one keeps being checked meanwhile. (Overruns of a
        # whole check: test_overrun_and_crash_cost_one_check_each.)
        await wait_for(lambda: record_count(engine, ids[healthy.code]) >= checks_before + 4, 15,
                       "the healthy camera checked meanwhile")  # fmt: skip
        refused_changes = [c for code, c in changes if code == refused.code and c.changed]
        assert ("ok", "down") in [(c.previous_state, c.state) for c in refused_changes]
    finally:
        await first.stop()

    # A new process on the same database: it goes on from the stored state, opens nothing again.
    changes.clear()
    second = monitor()
    await second.start()
    try:
        done = second.checks_done
        await wait_for(lambda: second.checks_done >= done + 8, 15, "checks after restart")
        assert not any(c.opened for _code, c in changes), changes
        for camera in (black, refused, hung):
            await set_fault(camera, "none")
        await wait_for(lambda: all(s == "ok" for s, _ in states(engine, ids).values()), 25,
                       "recovery")  # fmt: skip
        cleared = {code for code, c in changes if c.cleared}
        assert cleared == {black.code, refused.code, hung.code}
    finally:
        await second.stop()


async def test_a_camera_is_ok_only_once_its_picture_was_checked(
    engine, fleet, secret_key, gop_cache
):
    """A new camera stays unknown ("being checked") until its stream tier has looked at its
    picture: a camera black from the start goes from unknown to degraded, never through ok,
    and a healthy one is ok only from its first stream check on."""
    from vp_monitor.probes.base import ProbeTarget
    from vp_monitor.probes.check import run_tier

    healthy, black, spare = fleet[:3]
    box = SecretBox(secret_key.encode())
    ids = register(engine, [healthy, black], box)
    # Warm up this process's ONVIF and RTSP clients on a camera the monitor does not watch:
    # the first checks then succeed (a cold start can fail them, hiding the order of verdicts).
    await run_tier("reachability", ProbeTarget(
        spare.code, onvif_host=spare.host, onvif_port=spare.onvif_port, username="admin",
        password="admin", rtsp_main=f"rtsp://{spare.host}:{spare.rtsp_port}/main",
    ), FAST_PROBES)  # fmt: skip
    await set_fault(black, "black")
    blacked = dataclasses.replace(black)
    blacked.set_fault("black")
    for stream in ("main", "sub"):  # encoded now, not while the first checks run
        await gop_cache.get(gop_cache.key_for(blacked, stream))
    monitor = Monitor(engine, FAST_MONITOR, probe_settings=FAST_PROBES, secrets=box)
    await monitor.start()
    try:
        expected = {healthy.code: ("ok", []), black.code: ("degraded", ["black"])}
        await wait_for(lambda: states(engine, ids) == expected, 25, "verdicts",
                       lambda: states(engine, ids))  # fmt: skip
    finally:
        await monitor.stop()
        await set_fault(black, "none")
    with transaction(session_factory(engine)) as session:
        query = select(CheckRecord.camera_id, CheckRecord.tier, CheckRecord.state)
        # In the order the results were evaluated (a record's `at` is its check's start: a
        # reachability check started after a stream check may end, and count, before it).
        rows = session.execute(query.order_by(CheckRecord.id)).all()
    black_states = [state for camera_id, _, state in rows if camera_id == ids[black.code]]
    black_rows = [(tier, state) for camera_id, tier, state in rows if camera_id == ids[black.code]]
    assert "ok" not in black_states and black_states[-1] == "degraded", black_rows
    healthy_rows = [(tier, state) for camera_id, tier, state in rows
                    if camera_id == ids[healthy.code]]  # fmt: skip
    first_ok = [state for _, state in healthy_rows].index("ok")
    assert "stream" in [tier for tier, _ in healthy_rows[: first_ok + 1]], healthy_rows
    assert {state for _, state in healthy_rows[:first_ok]} <= {"unknown"}, healthy_rows
    # The wall's tile shows what the last stream check decoded, small: black for the black one.
    with transaction(session_factory(engine)) as session:
        pictures = {t.camera_id: t.jpeg for t in session.scalars(select(CameraThumbnail))}
    assert set(pictures) == {ids[healthy.code], ids[black.code]}
    seen = {code: cv2.imdecode(np.frombuffer(pictures[ids[code]], np.uint8), cv2.IMREAD_GRAYSCALE)
            for code in (healthy.code, black.code)}  # fmt: skip
    assert {image.shape[1] for image in seen.values()} == {320}
    assert seen[black.code].mean() < 20 < seen[healthy.code].mean()


async def _slow_or_broken(tier, target, settings, references, vision) -> TierResult:
    """A fake check: `hang-*` cameras never answer, `bug-*` cameras crash the check."""
    if target.camera.startswith("hang"):
        await asyncio.sleep(3600)
    if target.camera.startswith("bug"):
        raise RuntimeError("probe bug")
    await asyncio.sleep(0.05)
    return TierResult(tier, frozenset(), frozenset({"unreachable"}), True)


def register_codes(engine, codes: list[str], sites: int = 1) -> None:
    with transaction(session_factory(engine)) as session:
        town = Municipality(insee="92012", name="Boulogne", departement="92")
        site_rows = [Site(name=f"S{n}", municipality=town) for n in range(sites)]
        for n, code in enumerate(codes):
            session.add(Camera(code=code, site=site_rows[n % sites], municipality=town,
                               rtsp_main="rtsp://192.0.2.1/main"))  # fmt: skip


async def test_overrun_and_crash_cost_one_check_each(engine):
    """A check that never returns is abandoned at its deadline (overrun counted) and a crashing
    check is a result; neither stops the other cameras' checks."""
    register_codes(engine, ["hang-1", "bug-1", "ok-1", "ok-2"])
    settings = FAST_MONITOR.model_copy(
        update={"timeouts": MonitorSettings(timeouts={"reachability": 0.5, "stream": 0.5}).timeouts}
    )
    mon = Monitor(engine, settings, check=_slow_or_broken)
    started = time.monotonic()
    await mon.start()
    try:
        await wait_for(lambda: len(statuses(engine)) == 4 and mon.runner.overruns >= 2, 10,
                       "overruns")  # fmt: skip
    finally:
        await mon.stop()
    assert time.monotonic() - started < 8
    with transaction(session_factory(engine)) as session:
        by_code = dict(session.execute(select(Camera.code, Camera.id)).all())
        counts = dict(session.execute(select(CheckRecord.camera_id, func.count())
                                      .group_by(CheckRecord.camera_id)).all())  # fmt: skip
        hung = session.scalars(select(CheckRecord).where(
            CheckRecord.camera_id == by_code["hang-1"], CheckRecord.tier == "reachability")
        ).first()  # fmt: skip
    assert hung.detail["overran"] is True and hung.conditions == ["unreachable"]
    # The healthy cameras were checked at their own pace all along, the others too.
    assert counts[by_code["ok-1"]] >= counts[by_code["hang-1"]] >= 2
    assert counts[by_code["bug-1"]] >= 2


async def test_a_sites_stream_budget_bounds_streams_not_reachability_checks(engine):
    """On one site, no more stream checks than site_concurrency run at once, and reachability
    checks (which play no stream) go on beside them: they take no stream slot."""
    register_codes(engine, [f"c{n}" for n in range(12)], sites=1)
    running: dict[str, int] = {"stream": 0, "reachability": 0, "inventory": 0}
    peak = dict(running)
    both = 0  # reachability checks that ran while the site's stream slot was taken

    async def counting(tier, target, settings, references, vision) -> TierResult:
        nonlocal both
        running[tier] += 1
        peak[tier] = max(peak[tier], running[tier])
        if tier == "reachability" and running["stream"]:
            both += 1
        await asyncio.sleep(0.2 if tier == "stream" else 0.05)
        running[tier] -= 1
        return TierResult(tier, frozenset(), frozenset(), True)

    settings = FAST_MONITOR.model_copy(update={"site_concurrency": 1})
    mon = Monitor(engine, settings, check=counting)
    assert await mon.run_once() == 36  # 12 cameras x 3 tiers, each never run before
    assert peak["stream"] == 1
    assert peak["reachability"] > 1 and both > 0


async def test_streams_slow_to_answer_leave_workers_to_the_reachability_checks(engine):
    """Stream checks that take their whole deadline (a congested uplink or simulator) hold at
    most stream_concurrency workers: the reachability checks of every camera go on at their
    interval meanwhile. Found at 10,000 cameras, where 15-s stream checks took all 512
    workers and reachability fell to a sixth of its rate."""
    codes = [f"c{n}" for n in range(12)]
    register_codes(engine, codes, sites=len(codes))  # one camera a site: no site slot binds
    streams, peak, reached = 0, 0, []

    async def slow_streams(tier, target, settings, references, vision) -> TierResult:
        nonlocal streams, peak
        if tier == "stream":
            streams += 1
            peak = max(peak, streams)
            try:
                await asyncio.sleep(3600)  # until the deadline abandons it
            finally:
                streams -= 1
        reached.append((time.monotonic(), tier))
        return TierResult(tier, frozenset(), frozenset(), True)

    settings = FAST_MONITOR.model_copy(update={
        "stream_concurrency": 4,
        "timeouts": MonitorSettings(timeouts={"reachability": 2, "stream": 30}).timeouts,
    })  # fmt: skip
    mon = Monitor(engine, settings, check=slow_streams)
    await mon.start()
    try:
        await asyncio.sleep(2.0)  # every stream check is due by now: 4 play, the rest wait
        begun = time.monotonic()
        await asyncio.sleep(3.0)
    finally:
        await mon.stop()
    assert peak == 4
    # Each camera's reachability is due every second: ~36 in 3 s (the 8 workers, 4 of them
    # free of streams, take them as they come; 23 on a loaded machine); with every worker
    # stuck in a stream, none; with workers waiting for the locks of cameras in a stream, 4.
    during = [at for at, tier in reached if tier == "reachability" and at >= begun]
    assert len(during) >= len(codes), len(during)


async def get_state(camera: SimCamera) -> dict:
    """The simulated camera's state through its control API (with the SOAP requests it got)."""
    url = f"http://{camera.host}:{camera.onvif_port}/sim/state"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.get(url) as response:
            return await response.json()


async def test_only_the_inventory_reads_and_records_the_device(engine, fleet, secret_key):
    """One run of every tier: the reachability and stream checks read the clock alone, without
    credentials; the daily inventory reads identity and profiles, signed, and its history row
    keeps what the device said."""
    box = SecretBox(secret_key.encode())
    ids = register(engine, fleet, box)
    # The first full read of a process parses the WSDLs: seconds on a busy machine.
    probes = FAST_PROBES.model_copy(update={"onvif": FAST_PROBES.onvif.model_copy(
        update={"timeout_s": 15.0})})  # fmt: skip
    settings = FAST_MONITOR.model_copy(update={"timeouts": MonitorSettings(
        timeouts={"reachability": 5, "stream": 10, "inventory": 20}).timeouts})  # fmt: skip
    mon = Monitor(engine, settings, probe_settings=probes, secrets=box)
    assert await mon.run_once() == 3 * len(fleet)
    with transaction(session_factory(engine)) as session:
        rows = {(r.camera_id, r.tier): r.detail for r in session.scalars(select(CheckRecord))}
    for camera in fleet:
        state = await get_state(camera)
        # Each tier read the clock once without credentials (the inventory through zeep).
        assert state["soap_requests"]["GetSystemDateAndTime"] == 3, state
        signed = state["signed_requests"]
        assert signed.get("GetDeviceInformation") == 1 and signed.get("GetProfiles") == 1, state
        assert "GetSystemDateAndTime" not in signed, state
        for tier in ("reachability", "stream"):
            assert set(rows[(ids[camera.code], tier)]["probes"]) >= {"clock", "rtsp"}
            assert "onvif" not in rows[(ids[camera.code], tier)]["probes"]
        device = rows[(ids[camera.code], "inventory")]["probes"]["onvif"]["detail"]
        assert (device["serial"], device["firmware"]) == (camera.serial, camera.firmware)
        assert [p["rtsp_uri"].rsplit("/", 1)[1] for p in device["profiles"]] == ["main", "sub"]
