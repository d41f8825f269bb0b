"""Provisional references through the real monitor loop on simulated cameras: a camera without
a reference learns one from healthy checks (day and night apart), a fault is judged against it
and marked provisional, a camera faulty from the start never learns its fault, and an approved
reference replaces a provisional one."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import select
from test_monitor import FAST_MONITOR, FAST_PROBES, fleet, register, set_fault, states, wait_for

from vp_monitor.alerts.models import Incident
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.models import CameraStatus, ReferenceCandidate
from vp_monitor.probes.base import ProbeTarget
from vp_monitor.probes.check import run_tier
from vp_monitor.registry.models import Camera
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.registry.service import Registry, references_in_force
from vp_monitor.service import views
from vp_monitor.service.scope import Scope

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow(seconds=90)]
__all__ = ["fleet"]  # the simulated cameras' fixture, shared with the monitor tests

LEARN_AFTER = 3
MONITOR = FAST_MONITOR.model_copy(update={"provisional_reference_after": LEARN_AFTER})


def in_force(engine, ids: dict[str, int]) -> dict[str, dict[str, tuple[int, bool]]]:
    """Per camera code, per kind: (reference id, provisional)."""
    with transaction(session_factory(engine)) as session:
        found = references_in_force(session, ids.values(), images=False)
    return {code: {kind: (r.id, r.provisional) for kind, r in found.get(i, {}).items()}
            for code, i in ids.items()}  # fmt: skip


def status_metric(engine, camera_id: int, name: str) -> float | None:
    with transaction(session_factory(engine)) as session:
        return (session.get(CameraStatus, camera_id).metrics or {}).get(name)


async def encode_ahead(gop_cache, cameras, fault: str) -> None:
    """Encode the loops of `fault` now, not inside a check's deadline."""
    for camera in cameras:
        faulty = dataclasses.replace(camera)
        faulty.set_fault(fault)
        for stream in ("main", "sub"):
            await gop_cache.get(gop_cache.key_for(faulty, stream))


async def test_learned_reference_judges_knocks_and_a_faulty_start_learns_nothing(
    engine, fleet, secret_key, gop_cache
):
    """Without references: healthy cameras learn a provisional day reference after N healthy
    checks; moving or covering one then raises moved / covered marked provisional (status
    metrics and incident); a camera black from the start learns nothing until repaired, then
    learns; a camera at night learns its night reference apart from its day one."""
    knocked, covered, black, nightly = fleet
    box = SecretBox(secret_key.encode())
    ids = register(engine, fleet, box)
    await encode_ahead(gop_cache, [black], "black")
    await set_fault(black, "black")
    monitor = Monitor(engine, MONITOR, probe_settings=FAST_PROBES, secrets=box)
    await monitor.start()
    try:
        learners = (knocked.code, covered.code, nightly.code)
        await wait_for(lambda: all("day" in in_force(engine, ids)[c] for c in learners), 60,
                       "day references learned", lambda: in_force(engine, ids))  # fmt: skip
        found = in_force(engine, ids)
        assert all(found[code]["day"][1] for code in learners), found  # provisional
        assert found[black.code] == {}, "a black camera learned its fault"
        day_of_nightly = found[nightly.code]["day"]
        await encode_ahead(gop_cache, [knocked], "moved")
        await encode_ahead(gop_cache, [covered], "covered_dark")
        await encode_ahead(gop_cache, [nightly], "night")
        await set_fault(knocked, "moved")
        await set_fault(covered, "covered_dark")
        await set_fault(nightly, "night")
        await set_fault(black, "none")  # repaired: a healthy stretch from now on

        def judged() -> bool:
            now = states(engine, ids)
            return now[knocked.code] == ("degraded", ["moved"]) and now[covered.code] == (
                "degraded", ["covered"])  # fmt: skip

        await wait_for(judged, 40, "moved and covered", lambda: states(engine, ids))
        for camera in (knocked, covered):
            assert status_metric(engine, ids[camera.code], "reference_provisional") == 1.0
        with transaction(session_factory(engine)) as session:
            incidents = {i.camera_id: i for i in session.scalars(select(Incident))}
        for camera, condition in ((knocked, "moved"), (covered, "covered")):
            incident = incidents[ids[camera.code]]
            assert condition in incident.conditions
            assert incident.metrics.get("reference_provisional") == 1.0, incident.metrics

        def learned_apart() -> bool:
            now = in_force(engine, ids)
            return "day" in now[black.code] and "night" in now[nightly.code]

        await wait_for(learned_apart, 60, "repaired camera's day and the night reference",
                       lambda: in_force(engine, ids))  # fmt: skip
        found = in_force(engine, ids)
        assert found[nightly.code]["night"][1] and found[nightly.code]["day"] == day_of_nightly
        assert states(engine, ids)[nightly.code] == ("ok", []), "night judged against day"
    finally:
        await monitor.stop()
        for camera in fleet:
            await set_fault(camera, "none")
    with transaction(session_factory(engine)) as session:
        runs = session.scalars(select(ReferenceCandidate)).all()
        assert all(run.healthy_checks < LEARN_AFTER for run in runs)  # bounded: one per kind


async def test_an_approved_reference_replaces_the_provisional_one(
    engine, fleet, secret_key, run_cli
):
    """A camera with an approved reference learns none; approving one over a learned reference
    puts it in force (checks no longer marked provisional); `camera reference --list` and the
    camera's detail (the API's and the page's) tell approved from provisional."""
    learner, approved = fleet[:2]
    box = SecretBox(secret_key.encode())
    ids = register(engine, [learner, approved], box)
    pictures = {camera.code: await picture_of(camera) for camera in (learner, approved)}
    approve(engine, box, ids[approved.code], pictures[approved.code])
    monitor = Monitor(engine, MONITOR, probe_settings=FAST_PROBES, secrets=box)
    await monitor.start()
    try:
        await wait_for(lambda: "day" in in_force(engine, ids)[learner.code], 40,
                       "a reference learned", lambda: in_force(engine, ids))  # fmt: skip
        learned_id = in_force(engine, ids)[learner.code]["day"][0]
        approve(engine, box, ids[learner.code], pictures[learner.code])
        checks = monitor.checks_done
        await wait_for(lambda: monitor.checks_done >= checks + 4 * LEARN_AFTER, 40, "checks")
        await wait_for(
            lambda: status_metric(engine, ids[learner.code], "reference_provisional") == 0.0,
            20, "checks judged against the approved reference",
        )  # fmt: skip
    finally:
        await monitor.stop()
    found = in_force(engine, ids)
    assert found[learner.code]["day"][1] is False and found[learner.code]["day"][0] != learned_id
    assert found[approved.code]["day"][1] is False
    with transaction(session_factory(engine)) as session:
        history = Registry(session, box, "t").references(session.get(Camera, ids[approved.code]))
        assert not any(r.provisional for r in history), "learned beside an approved reference"
        detail = views.camera_detail(session, Scope.supervision(), learner.code)
    assert detail["references"] == {"day": "approved"}
    code, out, _ = run_cli("camera", "reference", learner.code, "--list", "--json")
    assert code == 0, out
    rows = {row["id"]: row for row in json.loads(out)}
    assert rows[learned_id]["provisional"] is True and rows[learned_id]["in_force"] is False
    newest = found[learner.code]["day"][0]
    assert rows[newest]["provisional"] is False and rows[newest]["in_force"] is True


async def picture_of(camera) -> bytes:
    """A frame of the simulated camera now (JPEG), from its sub-stream."""
    target = ProbeTarget(camera.code, rtsp_sub=f"rtsp://{camera.host}:{camera.rtsp_port}/sub",
                         username="admin", password="admin")  # fmt: skip
    result = await run_tier("stream", target, FAST_PROBES)
    assert result.evidence_jpeg, result.to_json()
    return result.evidence_jpeg


def approve(engine, box: SecretBox, camera_id: int, jpeg: bytes) -> None:
    """Store `jpeg` as the camera's approved day reference, as `reference --approve` does."""
    with transaction(session_factory(engine)) as session:
        camera = session.get(Camera, camera_id)
        Registry(session, box, "tech").add_reference(camera, jpeg, (640, 360), "day")
