"""PTZ cameras over real sockets: the simulator's PTZ service read by the ptz probe through
onvif-zeep-async, each preset's view judged against its own reference, `ptz_not_home` through
the evaluator, and a position that cannot be read."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from simulated import simulated_camera

from vp_monitor.monitor.evaluator import new_status, step
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeSettings, ProbeTarget, reference_key
from vp_monitor.probes.check import run_tier
from vp_monitor.sim.ptz import PtzHead

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow(seconds=130)]

PROBES = ProbeSettings.model_validate(
    {
        "onvif": {"timeout_s": 4.0},
        "ptz": {"timeout_s": 4.0},
        "rtsp": {"timeout_s": 4.0},
        "stream": {"timeout_s": 8.0, "window_s": 1.0, "second_keyframe_delay_s": 0.5},
    }
)
PASSWORD = "ptz-secret"


def target_of(camera) -> ProbeTarget:
    base = f"rtsp://{camera.host}:{camera.rtsp_port}"
    return ProbeTarget(camera.code, camera.host, camera.onvif_port, "admin", PASSWORD,
                       f"{base}/main", f"{base}/sub", ptz=True)  # fmt: skip


async def control(camera, path: str, body: dict) -> dict:
    """POST to the simulator's control API (/sim/ptz, /sim/fault)."""
    url = f"http://{camera.host}:{camera.onvif_port}/sim/{path}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.post(url, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def fault_encoded(camera, cache, fault: str) -> None:
    """Encode the fault's pictures at the view the camera has now, then switch it to them."""
    for stream in ("main", "sub"):
        await cache.get(cache.key_for(camera, stream, fault, {}))
    await control(camera, "fault", {"fault": fault})
    await asyncio.sleep(2.5)


async def settled(camera, body: dict) -> None:
    """Move the head and wait until the streams play the new view (a GOP boundary)."""
    await control(camera, "ptz", body)
    await asyncio.sleep(2.5)


async def references_per_preset(camera, head: PtzHead) -> dict[str, bytes]:
    """One day reference per preset: the camera sent there, a check's picture kept (as a
    technician approves one per preset)."""
    found = {}
    for preset in head.presets:
        await settled(camera, {"preset": preset.token})
        result = await run_tier("stream", target_of(camera), PROBES)
        assert result.probes["ptz"].detail["preset"] == preset.token, result.probes["ptz"]
        found[reference_key("day", preset.token)] = result.evidence_jpeg
    return found


@pytest.fixture
async def ptz_camera(gop_cache):
    head = PtzHead()
    async with simulated_camera(PASSWORD, gop_cache, ptz=head) as camera:
        yield camera, head, gop_cache


async def test_a_ptz_on_patrol_is_never_moved_and_each_preset_is_judged_by_its_reference(
    ptz_camera,
):
    """On patrol through its presets, each with its reference, no check reports `moved`; the
    checks made while it sat at one preset were judged against that preset's reference."""
    camera, head, cache = ptz_camera
    references = await references_per_preset(camera, head)
    await control(camera, "ptz", {"patrol": True, "dwell_s": 6})
    results = [await run_tier("stream", target_of(camera), PROBES, references)
               for _ in range(6)]  # fmt: skip
    await control(camera, "ptz", {"patrol": False})
    assert all("moved" not in r.conditions for r in results), [r.conditions for r in results]
    judged = {r.probes["ptz"].detail["preset"] for r in results
              if r.analysis["without_reference"] == 0.0}  # fmt: skip
    assert len(judged) >= 2, [(r.probes["ptz"].detail, r.analysis) for r in results]


async def test_a_ptz_at_a_preset_whose_view_changed_is_moved(ptz_camera):
    """At a preset whose view no longer matches its reference (the simulator's `moved`
    fault shifts it), the check reports `moved`, judged against that preset's reference."""
    camera, head, cache = ptz_camera
    references = await references_per_preset(camera, head)
    await settled(camera, {"preset": "2"})
    clean = await run_tier("stream", target_of(camera), PROBES, references)
    await fault_encoded(camera, cache, "moved")
    shifted = await run_tier("stream", target_of(camera), PROBES, references)
    assert "moved" not in clean.conditions, clean.analysis
    assert "moved" in shifted.conditions, shifted.analysis
    assert shifted.analysis["without_reference"] == 0.0
    assert shifted.probes["ptz"].detail["preset"] == "2"


async def test_a_ptz_off_its_presets_is_judged_without_reference(ptz_camera):
    """Away from every preset, its picture is judged only on what needs no reference: no
    `moved` however far it looks, `moved` not even observed, and the metrics say so."""
    camera, head, cache = ptz_camera
    references = await references_per_preset(camera, head)
    await settled(camera, {"position": [0.3, -0.4, 0.2]})
    result = await run_tier("stream", target_of(camera), PROBES, references)
    assert "moved" not in result.conditions and "moved" not in result.observed
    assert result.analysis["without_reference"] == 1.0
    ptz = result.probes["ptz"]
    assert ptz.ok and ptz.detail["preset"] is None and ptz.metrics["at_preset"] == 0.0
    assert "ptz_not_home" in result.conditions
    assert "blurred" in result.observed and "black" in result.observed


async def test_an_unreadable_position_judges_only_what_needs_no_reference(ptz_camera):
    """When the PTZ service fails, a shifted view is not `moved` (no reference can be
    chosen) but a black picture is still `black`; nothing about its position is judged."""
    camera, head, cache = ptz_camera
    references = await references_per_preset(camera, head)
    await control(camera, "ptz", {"broken": True})
    await fault_encoded(camera, cache, "moved")
    shifted = await run_tier("stream", target_of(camera), PROBES, references)
    await fault_encoded(camera, cache, "black")
    black = await run_tier("stream", target_of(camera), PROBES, references)
    for result in (shifted, black):
        ptz = result.probes["ptz"]
        assert not ptz.ok and "position not read" in ptz.error and PASSWORD not in ptz.error
        assert result.analysis["without_reference"] == 1.0
        assert not {"moved", "ptz_not_home"} & (result.conditions | result.observed)
    assert "moved" not in shifted.conditions and "black" in black.conditions


async def test_ptz_not_home_is_raised_after_the_setting_confirmed_and_cleared_at_home(
    ptz_camera,
):
    """Away from home, `ptz_not_home` opens only once it has been seen for
    [monitor] ptz_home_after_s without a break (not after two quick checks), and clears at
    the first check back home."""
    camera, head, cache = ptz_camera
    settings = MonitorSettings(ptz_home_after_s=600)
    await settled(camera, {"preset": "3"})
    away = await run_tier("stream", target_of(camera), PROBES)
    await settled(camera, {"home": True})
    home = await run_tier("stream", target_of(camera), PROBES)
    assert "ptz_not_home" in away.conditions and "ptz_not_home" not in home.conditions
    assert "ptz_not_home" in home.observed
    status, t0 = new_status(1), datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    status.tiers_checked = ["reachability", "stream"]
    opened = []
    for minutes in (0, 1, 5, 9, 10, 15):
        change = step(status, away, settings, t0 + timedelta(minutes=minutes))
        opened.append("ptz_not_home" in change.conditions)
        assert not change.confirming  # waiting for the time: no early retry asked
    assert opened == [False, False, False, False, True, True]
    assert status.state == "degraded"
    cleared = step(status, home, settings, t0 + timedelta(minutes=16))
    assert "ptz_not_home" in cleared.cleared and cleared.state == "ok"
    again = step(status, away, settings, t0 + timedelta(minutes=17))  # a new run starts over
    assert "ptz_not_home" not in again.conditions


async def test_a_fixed_camera_reads_no_ptz_position(ptz_camera):
    """The ptz probe runs on PTZ cameras only: the same device registered as fixed is checked
    as before, against its day reference."""
    camera, _head, _cache = ptz_camera
    result = await run_tier("stream", replace(target_of(camera), ptz=False), PROBES)
    assert "ptz" not in result.probes and "without_reference" not in result.analysis
