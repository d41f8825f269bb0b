"""Cost per check of learning provisional references: the monitor's result writing (one batch
transaction: statuses, history, leases, and the candidates' runs) for cameras that are learning
(no reference) against the same for cameras that have their references (no learning), in one
run on one database. Prints milliseconds of wall time per check and their ratio.

    .venv/bin/python tools/bench_provisional.py [--cameras 200] [--rounds 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
from sqlalchemy import Engine

from vp_monitor.db import make_engine, session_factory, transaction, upgrade
from vp_monitor.monitor.engine import WRITE_BATCH, Monitor, load_jobs
from vp_monitor.monitor.planner import Claim
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.tiers import PICTURE_SEES, TierResult
from vp_monitor.registry.models import Camera, Municipality, ReferenceImage, Site
from vp_monitor.sim.scene import camera_picture, render_frames


def frame_jpeg() -> bytes:
    """A simulated camera's 640x360 picture as the stream check keeps it (JPEG 85)."""
    picture = camera_picture(next(render_frames("procedural", 640, 360, 10, 1)), 0.0, "none", {})
    return cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def register(engine, count: int, jpeg: bytes, with_references: bool, prefix: str) -> list[int]:
    with transaction(session_factory(engine)) as session:
        town = session.get(Municipality, 1) or Municipality(
            id=1, insee="78646", name="Versailles", departement="78"
        )
        site = Site(name=prefix, municipality=town)
        cameras = [Camera(code=f"{prefix}{n:04d}", site=site, municipality=town)
                   for n in range(count)]  # fmt: skip
        session.add_all(cameras)
        session.flush()
        if with_references:
            session.add_all([ReferenceImage(camera_id=c.id, kind=kind, jpeg=jpeg, width=640,
                                            height=360, approved_by="bench")
                             for c in cameras for kind in ("day", "night")])  # fmt: skip
        return [c.id for c in cameras]


def one_round(monitor: Monitor, ids: list[int], jpeg: bytes, sharpness: float) -> float:
    """Seconds to write one healthy stream result per camera, by batches as the monitor does."""
    now = datetime.now(UTC)
    claims = [Claim(0, i, 1, "stream", 300.0, "bench", now, now) for i in ids]
    with transaction(monitor.factory) as session:
        jobs = load_jobs(session, claims)
    result = TierResult("stream", frozenset(), PICTURE_SEES, True,
                        {"sharpness": sharpness}, evidence_jpeg=jpeg, evidence_size=(640, 360),
                        analysis={"sharpness": sharpness}, period="day")  # fmt: skip
    started = time.perf_counter()
    for start in range(0, len(jobs), WRITE_BATCH):
        monitor._record([(job, result) for job in jobs[start : start + WRITE_BATCH]])
    return time.perf_counter() - started


@contextlib.contextmanager
def bench_engine(url: str | None) -> Iterator[Engine]:
    """An engine on `url` at the latest schema, or on a fresh SQLite file removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="checks per camera (< N learns)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with bench_engine(args.database_url) as engine:
        jpeg = frame_jpeg()
        settings = MonitorSettings(provisional_reference_after=args.rounds + 1, history_every_s=0)
        monitor = Monitor(engine, settings)
        learning = register(engine, args.cameras, jpeg, False, "L")
        judged = register(engine, args.cameras, jpeg, True, "R")
        times: dict[str, list[float]] = {"learning": [], "with references": []}
        for number in range(args.rounds):  # sharper each round: every frame is kept
            times["learning"].append(one_round(monitor, learning, jpeg, 1.0 + number))
            times["with references"].append(one_round(monitor, judged, jpeg, 1.0 + number))
        monitor.db.shutdown()
        per_check = {k: 1000 * sum(v) / (len(v) * args.cameras) for k, v in times.items()}
        print(f"{engine.dialect.name}, {args.cameras} cameras x {args.rounds} checks, "
              f"JPEG {len(jpeg) // 1024} KiB, every frame kept (worst case)")  # fmt: skip
        for name, value in per_check.items():
            print(f"  {name:16s} {value:6.2f} ms per check written")
        ratio = per_check["learning"] / per_check["with references"]
        print(f"  ratio learning / with references: {ratio:.2f}")


if __name__ == "__main__":
    main()
