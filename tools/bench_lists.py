"""List and status summary benchmark: the read models behind `GET /api/v1/cameras?state=down`
and the status wall summary, on a fleet of 10,000 cameras.

    .venv/bin/python tools/bench_lists.py [--cameras 10000] [--repeat 30]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds the fleet on a temporary SQLite file and, with --postgres, in a temporary PostgreSQL
database (dropped at the end): 20 municipalities, 500 sites, cameras with a status each, about
3 % down and 5 % degraded, an open incident per down camera and a history of `--incidents`
resolved ones. Times each read model in one
thread, straight on the service layer (no HTTP), and prints the median and the 95th
percentile of `--repeat` runs after one warm-up run; the figures are indicative only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bench_planner import postgres_database
from sqlalchemy import insert, select, text

from vp_monitor.alerts.models import Incident
from vp_monitor.db import make_engine, session_factory, transaction, upgrade, utcnow
from vp_monitor.monitor.models import CameraStatus
from vp_monitor.registry.models import Camera, Municipality, Site
from vp_monitor.service import lists, views
from vp_monitor.service.lists import CameraFilters, IncidentFilters, Page
from vp_monitor.service.scope import Scope

TOWNS, SITES = 20, 500


def populate(factory, cameras: int, history: int = 0, lifecycle: str = "active") -> None:
    """The fleet: TOWNS municipalities, SITES sites, `cameras` cameras with their status, and
    `history` resolved incidents; `lifecycle` of every camera ("planned": registered, listed,
    counted, but not checked by a poller)."""
    now = utcnow()
    with transaction(factory) as session:
        session.execute(insert(Municipality), [
            {"insee": f"92{n:03d}", "name": f"Commune {n}", "departement": "92"}
            for n in range(TOWNS)])  # fmt: skip
        towns = list(session.scalars(select(Municipality.id).order_by(Municipality.id)))
        session.execute(insert(Site), [
            {"name": f"Site {n}", "municipality_id": towns[n % TOWNS],
             "address": f"{n} rue de la Paix"} for n in range(SITES)])  # fmt: skip
        sites = session.execute(select(Site.id, Site.municipality_id).order_by(Site.id)).all()
        session.execute(insert(Camera), [
            {"code": f"CAM-{n:05d}", "name": f"Caméra {n}", "site_id": sites[n % SITES][0],
             "municipality_id": sites[n % SITES][1], "kind": "fixed", "lifecycle": lifecycle,
             "tags": ["parking"] if n % 10 == 0 else [], "notes": ""}
            for n in range(cameras)])  # fmt: skip
        ids = list(session.scalars(select(Camera.id).order_by(Camera.id)))
        statuses, incidents = [], []
        for n, camera_id in enumerate(ids):
            state, found = ("down", ["no_video"]) if n % 33 == 0 else (
                ("degraded", ["blurred"]) if n % 20 == 1 else ("ok", []))  # fmt: skip
            statuses.append(
                {
                    "camera_id": camera_id,
                    "state": state,
                    "conditions": found,
                    "since": now - timedelta(seconds=n),
                    "last_check_at": now,
                }
            )
            if state == "down":
                incidents.append({"id": str(uuid.uuid4()), "kind": "camera",
                                  "camera_id": camera_id, "status": "open",
                                  "severity": "critical", "conditions": found,
                                  "opened_at": now - timedelta(seconds=n)})  # fmt: skip
        incidents += [{"id": str(uuid.uuid4()), "kind": "camera", "camera_id": ids[n % len(ids)],
                       "status": "resolved", "severity": "major", "conditions": ["blurred"],
                       "opened_at": now - timedelta(minutes=n + 1), "resolved_at": now}
                      for n in range(history)]  # fmt: skip
        session.execute(insert(CameraStatus), statuses)
        session.execute(insert(Incident), incidents)


CASES = {
    "cameras state=down, page of 50": lambda s: lists.list_cameras(
        s, Scope.supervision(), CameraFilters(state=["down"]), Page()),
    "cameras, worst first, page of 50": lambda s: lists.list_cameras(
        s, Scope.supervision(), None, Page()),
    "cameras state=down, one municipality": lambda s: lists.list_cameras(
        s, Scope.of_municipalities(["92003"]), CameraFilters(state=["down"]), Page()),
    "cameras severity=critical, page of 50": lambda s: lists.list_cameras(
        s, Scope.supervision(), CameraFilters(severity="critical"), Page()),
    "cameras q=rue de la paix 42, page of 50": lambda s: lists.list_cameras(
        s, Scope.supervision(), CameraFilters(q="42 rue de la"), Page()),
    "cameras, last page of 50": lambda s: lists.list_cameras(
        s, Scope.supervision(), CameraFilters(sort="code"), Page(offset=9950)),
    "status summary (fleet)": lambda s: lists.status_summary(s, Scope.supervision()),
    "status summary (one municipality)": lambda s: lists.status_summary(
        s, Scope.of_municipalities(["92003"])),
    "incidents unresolved, page of 50": lambda s: lists.list_incidents(
        s, Scope.supervision(), IncidentFilters(status="unresolved"), Page()),
    "incidents newest, page of 50": lambda s: lists.list_incidents(
        s, Scope.supervision(), None, Page()),
    "incidents of one municipality, page of 50": lambda s: lists.list_incidents(
        s, Scope.of_municipalities(["92003"]), None, Page()),
    "status wall, problems only (CLI)": lambda s: views.status_wall(s, Scope.supervision(), True),
}  # fmt: skip


def bench(url: str, cameras: int, history: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Median and 95th percentile in ms of each case on one database."""
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    populate(factory, cameras, history)
    with engine.begin() as connection:  # fresh statistics, as a database in service has
        connection.execute(text("ANALYZE"))
    figures = {}
    for name, case in CASES.items():
        times = []
        for run in range(repeat + 1):
            with factory() as session:
                start = time.perf_counter()
                case(session)
                if run:  # the first run warms the caches
                    times.append((time.perf_counter() - start) * 1000)
        times.sort()
        figures[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=100_000, help="resolved, in history")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", help="an admin URL: a temporary database is made there")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        results["SQLite"] = bench(url, args.cameras, args.incidents, args.repeat)
    if args.postgres:
        url, drop = postgres_database(args.postgres)
        try:
            results["PostgreSQL"] = bench(url, args.cameras, args.incidents, args.repeat)
        finally:
            drop()
    print(f"{args.cameras} cameras, {args.incidents} resolved incidents, {args.repeat} runs each,"
          " ms (median / p95)")  # fmt: skip
    print(f"| read model | {' | '.join(results)} |")
    print(f"|---|{'---|' * len(results)}")
    for name in CASES:
        shown = " | ".join(f"{r[name][0]:.1f} / {r[name][1]:.1f}" for r in results.values())
        print(f"| {name} | {shown} |")


if __name__ == "__main__":
    main()
