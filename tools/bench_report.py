"""Daily report benchmark: a day of check history for a fleet, the whole-fleet report built.

    .venv/bin/python tools/bench_report.py [--cameras 10000] [--no-baseline]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL only (a temporary database is created and dropped): the history is generated in
SQL, one reachability record per camera per minute and one stream record per 5 minutes over
25 hours (the day and the hour before it), with some cameras down or in maintenance for a
while. Prints the time and memory of `availability()` (the database keeps only state changes)
against the baseline of reading every record into Python (what it did until 2026-11-30),
checks that both agree, then times the supervision centre's whole report. The baseline needs
about 1.3 GB of memory per 1,000 cameras: --no-baseline skips it.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import date, timedelta

from bench_planner import populate, postgres_database
from sqlalchemy import select, text

from vp_monitor.alerts.reports import Scope, build_report, day_period
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import make_engine, session_factory, transaction, upgrade
from vp_monitor.monitor.availability import (
    BY_STATE,
    RECORDED_FLEET,
    UNKNOWN,
    Availability,
    accumulate,
    availability,
)
from vp_monitor.monitor.models import CheckRecord

DAY = date(2026, 11, 23)

HISTORY = """
INSERT INTO check_record (camera_id, tier, at, state, availability, conditions, duration_s,
                          detail)
SELECT camera.id, tier.name, CAST(:start AS timestamptz) + (n * tier.every) * interval '1 second',
       CASE WHEN camera.id % 50 = 0 AND n * tier.every BETWEEN 18000 AND 25200 THEN 'down'
            ELSE 'ok' END,
       CASE WHEN camera.id % 50 = 0 AND n * tier.every BETWEEN 18000 AND 25200 THEN 'down'
            ELSE 'up' END,
       '[]'::json, 0.2,
       CASE WHEN camera.id % 97 = 0 AND n * tier.every BETWEEN 36000 AND 39600
            THEN '{"in_maintenance": true}'::json ELSE '{"in_maintenance": false}'::json END
FROM camera,
     (VALUES ('reachability', 60), ('stream', 300)) AS tier(name, every),
     generate_series(0, 90000 / tier.every - 1) AS n
"""


def every_record(session, start, end) -> dict[int, Availability]:
    """The baseline: every record of the period (and the last one before) read into Python."""
    rows = session.execute(
        select(CheckRecord.camera_id, CheckRecord.at, CheckRecord.availability,
               CheckRecord.state, CheckRecord.detail)
        .where(CheckRecord.at >= start - timedelta(hours=1), CheckRecord.at < end)
        .order_by(CheckRecord.camera_id, CheckRecord.at, CheckRecord.id)
    )  # fmt: skip
    history: dict[int, list] = {}
    for camera_id, at, available, state, detail in rows:
        maintenance = bool((detail or {}).get("in_maintenance"))
        available = available or BY_STATE.get(state, UNKNOWN)
        history.setdefault(camera_id, []).append((max(at, start), available, maintenance))
    return accumulate(history, end)


def compare(factory, period, changes: dict[int, Availability], ours: float) -> None:
    """Time the baseline and check that it finds the same figures for every camera."""
    with factory() as session:
        baseline, base, base_mb = measured(every_record, session, period.start, period.end)
    assert changes.keys() == baseline.keys()
    for camera_id, figures in baseline.items():
        mine = changes[camera_id]
        assert abs(mine.up_s - figures.up_s) < 1e-6, camera_id
        assert abs(mine.down_s - figures.down_s) < 1e-6, camera_id
        assert abs(mine.maintenance_s - figures.maintenance_s) < 1e-6, camera_id
    print(f"baseline, every record in Python: {base:.1f} s, peak memory +{base_mb:.0f} MB")
    print(f"ratio: {ours / base:.2f} of the time; both agree for every camera")


def measured(func, *args):
    """func(*args), the seconds it took and how much it raised this process's peak memory."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    result = func(*args)
    seconds = time.perf_counter() - t
    return result, seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("VP_TEST_DATABASE_URL"))
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("give --postgres URL (or VP_TEST_DATABASE_URL)")
    url, drop = postgres_database(args.postgres)
    try:
        engine = make_engine(url)
        upgrade(engine)
        factory = session_factory(engine)
        populate(factory, args.cameras)
        period = day_period(DAY, "Europe/Paris")
        t = time.perf_counter()
        with transaction(factory) as session:
            session.execute(text(HISTORY), {"start": period.start - timedelta(hours=1)})
            session.execute(text("ANALYZE check_record"))
            records = session.scalar(select(text("count(*)")).select_from(CheckRecord))
        print(f"history: {records:,} check records for {args.cameras:,} cameras "
              f"({time.perf_counter() - t:.0f} s to generate)")  # fmt: skip
        with factory() as session:
            changes, ours, ours_mb = measured(availability, session, period.start, period.end)
        print(f"availability, state changes only: {ours:.1f} s, peak memory +{ours_mb:.0f} MB")
        if not args.no_baseline:
            compare(factory, period, changes, ours)
        settings = AlertSettings()
        with factory() as session:
            t = time.perf_counter()
            content = build_report(session, Scope("all"), period, settings, fleet=RECORDED_FLEET)
            whole = time.perf_counter() - t
        ratio = content["availability"]["ratio"]
        print(f"whole-fleet report: {whole:.1f} s (availability {ratio:.4%}, "
              f"{len(content['availability']['lowest'])} cameras listed)")  # fmt: skip
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
