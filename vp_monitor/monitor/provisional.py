"""Provisional references: a camera without an approved reference of a kind (day or night)
learns one from its own healthy pictures, so that `covered` and `moved` are judged from the
start and not only once a technician approved a reference.

Each stream check of such a camera is one step of a run (a ReferenceCandidate row, one per
camera and kind: the candidate frames stay bounded). A healthy check of that kind (a picture
analysed, none of the conditions a stream check judges) counts one and keeps its frame when it
is the clearest of the run (vision's `sharpness`); any other stream check ends the runs of both
kinds, so a camera faulty at first sight (black, covered, frozen, no video...) never learns its
fault. The `provisional_reference_after`-th healthy check within the window makes the frame
kept the camera's provisional reference. A kind with a reference in force (approved or
provisional) learns nothing; an approved one replaces a provisional one (REFERENCE_IN_FORCE_ORDER).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from vp_monitor import conditions
from vp_monitor.monitor.models import ReferenceCandidate
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.tiers import TierResult
from vp_monitor.registry.models import Camera
from vp_monitor.registry.service import Registry

log = logging.getLogger(__name__)

# A healthy image check saw none of what a stream check can judge (picture and stream).
UNHEALTHY = conditions.observed_by("stream")
ACTOR = "monitor"  # the reference's `approved_by` and its audit entry's actor


@dataclass(frozen=True)
class Observation:
    """One stream check of a camera that lacks a reference of some kind."""

    camera: Camera
    result: TierResult
    in_force: Collection[str]  # the kinds the camera has a reference of when its check ran
    interval_s: float  # its stream interval


def learning(result: TierResult, in_force: Collection[str]) -> bool:
    """Whether this check takes part in learning: a stream check of a camera that lacks a day
    or a night reference. A PTZ camera learns none: its pictures are judged against the
    approved reference of the preset they are taken at."""
    if "ptz" in result.probes:
        return False
    return result.tier == "stream" and not {"day", "night"} <= set(in_force)


def healthy(result: TierResult) -> bool:
    """A picture analysed (and kept as evidence), nothing wrong with it or with the stream."""
    analysed = result.period is not None and result.evidence_size is not None
    return bool(result.video_ok) and analysed and not result.conditions & UNHEALTHY


def learn(
    session: Session, seen: list[Observation], settings: MonitorSettings, now: datetime
) -> list[str]:
    """Move the runs of these checks on (in the caller's transaction, which holds their
    cameras' status rows); the codes of the cameras that learned a reference."""
    if not seen:
        return []
    query = (
        select(ReferenceCandidate)
        .where(ReferenceCandidate.camera_id.in_({o.camera.id for o in seen}))
        .options(defer(ReferenceCandidate.jpeg))  # read only when the run ends in a reference
    )
    runs = {(run.camera_id, run.kind): run for run in session.scalars(query)}
    learned = []
    for observation in seen:
        camera, result = observation.camera, observation.result
        if not healthy(result):  # a fault ends every run of the camera
            for kind in ("day", "night"):
                if (run := runs.pop((camera.id, kind), None)) is not None:
                    session.delete(run)
            continue
        kind = result.period
        run = runs.get((camera.id, kind))
        if kind in observation.in_force:  # nothing to learn; a run left from before is dropped
            if run is not None:
                session.delete(runs.pop((camera.id, kind)))
            continue
        window = max(
            settings.provisional_reference_window_s,
            settings.provisional_reference_after * observation.interval_s * (1 + settings.jitter),
        )
        if run is None or run.first_at < now - timedelta(seconds=window):
            run = _restart(session, run, camera.id, kind, now)
            runs[(camera.id, kind)] = run
        run.healthy_checks += 1
        _keep_if_clearer(run, result)
        if run.healthy_checks >= settings.provisional_reference_after and run.jpeg:
            _promote(session, camera, run)
            session.delete(runs.pop((camera.id, kind)))
            learned.append(camera.code)
    return learned


def _restart(
    session: Session, run: ReferenceCandidate | None, camera_id: int, kind: str, now: datetime
) -> ReferenceCandidate:
    """A new run from this check on (the old one, too long, is dropped)."""
    if run is None:
        run = ReferenceCandidate(camera_id=camera_id, kind=kind)
        session.add(run)
    run.healthy_checks, run.first_at = 0, now
    run.sharpness, run.jpeg, run.width, run.height = -1.0, b"", 0, 0  # no frame kept yet
    return run


def _keep_if_clearer(run: ReferenceCandidate, result: TierResult) -> None:
    """Keep this check's frame when it is sharper than the run's so far (its size comes with
    it: decoding the JPEG here, in the database thread, cost ~3 % of a 10,000-camera fleet's
    monitor CPU while it learned)."""
    sharpness = float(result.analysis.get("sharpness", 0.0))
    if sharpness > run.sharpness:  # a healthy result has its evidence and that evidence's size
        run.sharpness, run.jpeg = sharpness, result.evidence_jpeg
        run.width, run.height = result.evidence_size


def _promote(session: Session, camera: Camera, run: ReferenceCandidate) -> None:
    """The run's frame becomes the camera's provisional reference of its kind."""
    registry = Registry(session, None, ACTOR)
    note = f"learned from {run.healthy_checks} healthy checks"
    registry.add_reference(camera, run.jpeg, (run.width, run.height), run.kind, note,
                           provisional=True)  # fmt: skip
    log.info("%s: provisional %s reference learned (%s)", camera.code, run.kind, note)
