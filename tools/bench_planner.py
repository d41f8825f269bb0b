"""Planner benchmark: schedule 10,000 cameras, claim them in batches, measure the spread.

    .venv/bin/python tools/bench_planner.py [--cameras 10000] [--batch 200]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

SQLite always (temporary file); PostgreSQL too when --postgres (or VP_TEST_DATABASE_URL) is
given and reachable (a temporary database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

from vp_monitor.db import make_engine, session_factory, transaction, upgrade, utcnow
from vp_monitor.monitor.engine import WRITE_BATCH, Monitor
from vp_monitor.monitor.evaluator import TierResult
from vp_monitor.monitor.models import CheckRecord, CheckSchedule
from vp_monitor.monitor.planner import claim_due, ensure_schedule, finish
from vp_monitor.monitor.runner import Job
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeTarget
from vp_monitor.registry.models import Camera, Municipality, Site

SITES = 500


def populate(factory, cameras: int) -> None:
    """`cameras` active cameras over SITES sites of one municipality."""
    with transaction(factory) as session:
        town = Municipality(insee="92012", name="Boulogne-Billancourt", departement="92")
        session.add(town)
        session.flush()
        session.execute(insert(Site), [{"name": f"site-{n}", "municipality_id": town.id}
                                       for n in range(SITES)])  # fmt: skip
        site_ids = list(session.scalars(select(Site.id)))
        rows = [{"code": f"CAM-{n:05d}", "site_id": site_ids[n % SITES], "name": "",
                 "municipality_id": town.id, "kind": "fixed", "lifecycle": "active",
                 "tags": [], "notes": ""} for n in range(cameras)]  # fmt: skip
        session.execute(insert(Camera), rows)


def bench(url: str, cameras: int, batch: int) -> dict[str, float]:
    """Every figure for one database."""
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    populate(factory, cameras)
    settings = MonitorSettings()
    start = utcnow()
    figures: dict[str, float] = {}
    t = time.perf_counter()
    with transaction(factory) as session:
        ensure_schedule(session, settings, start)
    figures["schedule_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with transaction(factory) as session:
        ensure_schedule(session, settings, start)
    figures["resync_s"] = time.perf_counter() - t
    with transaction(factory) as session:
        rows = session.execute(select(CheckSchedule.tier, CheckSchedule.next_due_at)).all()
    for tier in ("reachability", "stream"):
        per_second = Counter(int((at - start).total_seconds()) for k, at in rows if k == tier)
        figures[f"{tier}_max_per_s"] = max(per_second.values())
        figures[f"{tier}_mean_per_s"] = cameras / getattr(settings.intervals, tier)
    now = start + timedelta(seconds=61)  # every reachability check due, some stream ones
    claimed, t = [], time.perf_counter()
    while True:
        with transaction(factory) as session:
            got = claim_due(session, "bench", now, batch, lease_s=settings.lease_s)
        if not got:
            break
        claimed += got
    figures["claims"] = len(claimed)
    figures["claims_per_s"] = len(claimed) / (time.perf_counter() - t)
    t = time.perf_counter()
    for n in range(0, len(claimed), 50):  # as the result writer does: 50 per transaction
        with transaction(factory) as session:
            for claim in claimed[n : n + 50]:
                finish(session, claim, now)
    figures["finishes_per_s"] = len(claimed) / (time.perf_counter() - t)
    figures.update(write_results(engine, settings, factory, start))
    engine.dispose()
    return figures


def write_results(engine, settings, factory, start, count: int = 3000) -> dict[str, float]:
    """Results written per second by the monitor's writers (evaluate, incidents, finish), for
    the same cameras: first checks, checks again ok (the steady state), then with one camera
    in ten failing twice in a row (the second time opens its incident: the full alert stage).
    """
    now = start + timedelta(seconds=200)
    with transaction(factory) as session:
        claims = claim_due(session, "writer", now, count)
    ok = TierResult("reachability", frozenset(), frozenset({"unreachable"}), True)
    down = TierResult("reachability", frozenset({"unreachable"}), frozenset({"unreachable"}), False)
    faulty = [down if n % 10 == 0 else ok for n in range(len(claims))]
    monitor = Monitor(engine, settings)
    figures = {}
    for name, results in (("first", [ok] * len(claims)), ("again", [ok] * len(claims)),
                          (None, faulty), ("faults", faulty)):  # fmt: skip
        with transaction(factory) as session:  # leased again, as if claimed once more
            ids = [claim.schedule_id for claim in claims]
            session.execute(update(CheckSchedule).where(CheckSchedule.id.in_(ids))
                            .values(lease_owner="writer"))  # fmt: skip
        pairs = zip(claims, results, strict=True)
        jobs = [(Job(c, ProbeTarget(f"id-{c.camera_id}")), r) for c, r in pairs]
        batches = [jobs[n : n + WRITE_BATCH] for n in range(0, len(jobs), WRITE_BATCH)]
        rows_before = history_rows(factory)
        t = time.perf_counter()
        # As many concurrent writers as the monitor runs on this backend (1 on SQLite).
        list(monitor.db.map(monitor._record, batches))
        if name:
            figures[f"results_{name}_per_s"] = len(jobs) / (time.perf_counter() - t)
            figures[f"history_{name}"] = (history_rows(factory) - rows_before) / len(jobs)
    monitor.db.shutdown()
    return figures


def history_rows(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(CheckRecord))


def postgres_database(admin_url: str) -> tuple[str, callable]:
    """A temporary database on the server and the function that drops it."""
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"vp_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def report(backend: str, f: dict[str, float]) -> None:
    """One line of figures."""
    print(
        f"{backend}: schedule {f['schedule_s']:.2f} s, re-sync {f['resync_s']:.2f} s, "
        f"{f['claims']:.0f} claims at {f['claims_per_s']:.0f}/s, "
        f"finish {f['finishes_per_s']:.0f}/s, results written {f['results_first_per_s']:.0f}/s "
        f"(again ok {f['results_again_per_s']:.0f}/s, 1 in 10 going down "
        f"{f['results_faults_per_s']:.0f}/s), history rows per result {f['history_first']:.2f} "
        f"(again ok {f['history_again']:.2f}, 1 in 10 going down {f['history_faults']:.2f}), "
        f"reachability due per second "
        f"max {f['reachability_max_per_s']:.0f} (mean {f['reachability_mean_per_s']:.0f}), "
        f"stream max {f['stream_max_per_s']:.0f} (mean {f['stream_mean_per_s']:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("VP_TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", bench(f"sqlite:///{tmp}/bench.db", args.cameras, args.batch))
    if args.postgres:
        try:
            url, drop = postgres_database(args.postgres)
        except Exception as exc:  # no server: SQLite figures only
            print(f"postgresql: not reachable ({type(exc).__name__}), skipped")
            return
        try:
            report("postgresql", bench(url, args.cameras, args.batch))
        finally:
            drop()


if __name__ == "__main__":
    main()
