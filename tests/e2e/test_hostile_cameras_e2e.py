"""End to end: 15 % hostile cameras (5 % accept TCP and never answer, 5 % answer one byte a
second, 5 % send garbage) among healthy ones on the same sites do not make the healthy cameras'
checks late (issue 15, "faults it must survive").

`vp-monitor sim` plays the fleet and `vp-monitor serve --role all` checks it, on SQLite. The
healthy cameras' start lateness is measured twice, with every camera healthy and then with the
hostile ones in their faults: their p99 must not differ by 2 s or more, every healthy camera
must be checked at its interval throughout, the hostile cameras' checks must be recorded as
failed results, and serve must still be up and answering at the end.

How lateness is measured, from what the monitor records: a thread reads the schedule table
several times a second; a row whose `last_started_at` moved was claimed then, and the check
was due at the `next_due_at` it had just before (as tools/bench_fleet.py does). The check's
start is its history row's time less its duration (every check is written: history_every_s =
0), so the time a claimed check waits for a worker, its site's stream slot or its camera counts
as lateness, as in the monitor's own `vp_scheduler_lateness_seconds`, which mixes all cameras
and so cannot say how the healthy ones fare.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import os
import random
import subprocess
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from ports import free_port
from sqlalchemy import create_engine, select
from test_serve_e2e import cli, set_fault, start_sim, stop, wait_for

from vp_monitor.monitor.models import CheckRecord, CheckSchedule
from vp_monitor.registry.models import Camera

pytestmark = pytest.mark.slow(seconds=105)

CAMERAS = 60  # the simulator's generated sites: 23, 30 and 7 cameras
# One of each hostile kind per site: 3 of 60 cameras each (5 %), 15 % in all.
HOSTILE = {
    "hang": {},  # accepts TCP, never answers
    "slow": {"delay_s": 1.0, "chunk_bytes": 1, "byte_delay_s": 1.0},  # one byte a second
    "garbage": {},  # random bytes instead of an answer (ONVIF and RTSP)
}
INTERVALS = {"reachability": 5.0, "stream": 30.0}
PHASE_S = 30.0  # each measuring window
SETTLE_S = 5.0  # after the faults are set: the checks under way before them end
P99_BOUND_S = 2.0  # the issue's bound on the change of the healthy cameras' p99


def config_text(tmp_path) -> str:
    # The probes' time-outs are the defaults (ONVIF 8 s, RTSP 5 s, stream 15 s): a hostile
    # camera holds what it holds for as long as it would in production. The stream window is
    # short so that the healthy cameras' stream checks fit their sites' slots at these intervals.
    return f"""
database_url = "sqlite:///{tmp_path / "vp.db"}"
secret_key_file = "{tmp_path / "secret.key"}"
[monitor]
planner_tick_s = 0.5
jitter = 0.0
history_every_s = 0
stop_wait_s = 1
[monitor.intervals]
reachability = {INTERVALS["reachability"]:g}
stream = {INTERVALS["stream"]:g}
[probes.stream]
window_s = 1.5
second_keyframe_delay_s = 1.0
"""


@dataclass(frozen=True)
class Check:
    """One recorded check of one camera and tier."""

    code: str
    tier: str
    started: datetime
    late_s: float | None  # None: its claim was not seen
    conditions: tuple[str, ...]


class ClaimWatch(threading.Thread):
    """Reads the schedule table every POLL_S; a row whose `last_started_at` moved was claimed,
    due at the `next_due_at` it had just before."""

    POLL_S = 0.2

    def __init__(self, url: str) -> None:
        super().__init__(name="claim-watch", daemon=True)
        self.engine = create_engine(url)
        self.done = threading.Event()
        self.rows: dict[tuple[str, str], tuple[datetime, datetime | None]] = {}
        # (code, tier) -> [(claimed at, due at)], in claim order
        self.claims: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)

    def run(self) -> None:
        query = select(Camera.code, CheckSchedule.tier, CheckSchedule.next_due_at,
                       CheckSchedule.last_started_at).join(Camera)  # fmt: skip
        while not self.done.is_set():
            try:
                with self.engine.connect() as connection:
                    found = connection.execute(query).all()
            except Exception:  # database busy or not yet there: read again
                found = []
            for code, tier, due, started in found:
                before = self.rows.get((code, tier))
                if before is not None and started is not None and started != before[1]:
                    self.claims[(code, tier)].append((started, before[0]))
                self.rows[(code, tier)] = (due, started)
            self.done.wait(self.POLL_S)
        self.engine.dispose()

    def checks(self) -> list[Check]:
        """Every recorded check, with its start lateness where its claim was seen."""
        query = select(Camera.code, CheckRecord.tier, CheckRecord.at, CheckRecord.duration_s,
                       CheckRecord.conditions).join(Camera)  # fmt: skip
        with self.engine.connect() as connection:
            records = connection.execute(query).all()
        found, used = [], set()
        for code, tier, at, duration_s, conditions in sorted(records, key=lambda r: r[2]):
            started = at - timedelta(seconds=duration_s)
            claims = self.claims.get((code, tier), [])
            number = bisect.bisect_right([c for c, _ in claims], started) - 1
            late_s = None
            if number >= 0 and (code, tier, number) not in used:  # else two claims between reads
                used.add((code, tier, number))
                late_s = max(0.0, (started - claims[number][1]).total_seconds())
            found.append(Check(code, tier, started, late_s, tuple(conditions)))
        return found


def fleet_sites(csv_path) -> dict[str, list[str]]:
    """Site name -> camera codes, from the simulator's registry CSV."""
    sites: dict[str, list[str]] = defaultdict(list)
    with csv_path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            sites[row["site"]].append(row["code"])
    return dict(sites)


def hostile_cameras(sites: dict[str, list[str]]) -> dict[str, str]:
    """Code -> fault: one camera of each hostile kind on every site, spread among the others."""
    chosen = {}
    for codes in sites.values():
        step = len(codes) // (len(HOSTILE) + 1)
        for number, fault in enumerate(HOSTILE, 1):
            chosen[codes[number * step]] = fault
    return chosen


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def in_window(checks: list[Check], start: datetime, end: datetime) -> list[Check]:
    return [c for c in checks if start <= c.started < end]


async def answers(url: str) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(url) as response:
            return response.status


@pytest.mark.timeout(300)
async def test_hostile_cameras_do_not_make_healthy_ones_late(tmp_path):
    """Healthy cameras' p99 start lateness within 2 s with 15 % hostile cameras on their sites."""
    rtsp_port, onvif_port = random.randrange(20000, 30000), random.randrange(30000, 40000)
    web_port = free_port("127.0.0.1")
    config = tmp_path / "vp.toml"
    config.write_text(config_text(tmp_path))
    env = {**os.environ, "VP_CONFIG": str(config), "VP_ACTOR": "e2e"}
    env.pop("VP_SECRET_KEY", None)
    env.pop("VP_DATABASE_URL", None)
    sim, csv_path = start_sim(env, tmp_path, CAMERAS, rtsp_port, onvif_port)
    serve_log = (tmp_path / "serve.log").open("w")
    serve, watch = None, None
    try:
        await wait_for(csv_path.exists, 60, "the simulator's registry CSV")
        cli(env, "db", "upgrade")
        cli(env, "municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt")
        cli(env, "camera", "import", str(csv_path))
        sites = fleet_sites(csv_path)
        hostile = hostile_cameras(sites)
        healthy = {code for codes in sites.values() for code in codes} - set(hostile)
        watch = ClaimWatch(f"sqlite:///{tmp_path / 'vp.db'}")
        watch.start()
        serve = subprocess.Popen(
            [sys.executable, "-m", "vp_monitor", "serve", "--role", "all", "--host",
             "127.0.0.1", "--port", str(web_port)],
            env=env, stdout=serve_log, stderr=subprocess.STDOUT,
        )  # fmt: skip

        def every_camera_reached() -> bool:  # serve has started: its first checks are done
            rows = [row for key, row in watch.rows.items() if key[1] == "reachability"]
            return len(rows) == CAMERAS and all(started is not None for _due, started in rows)

        await wait_for(every_camera_reached, 120, "every camera checked once")
        healthy_start = datetime.now(UTC)
        await asyncio.sleep(PHASE_S)
        faults_at = datetime.now(UTC)
        for code, fault in hostile.items():
            await set_fault(onvif_port, code, fault, **HOSTILE[fault])
        await asyncio.sleep(SETTLE_S)
        hostile_start = datetime.now(UTC)
        await asyncio.sleep(PHASE_S)
        hostile_end = datetime.now(UTC)

        def hostile_ones_checked() -> bool:  # on each tier, since their faults were set
            after = {(c.code, c.tier) for c in watch.checks() if c.started > faults_at}
            return all((code, tier) in after for code in hostile for tier in INTERVALS)

        await wait_for(hostile_ones_checked, 60, "every hostile camera checked on each tier")
        await asyncio.sleep(2)  # the last results of the window are written

        assert serve.poll() is None, "serve stopped"
        assert await answers(f"http://127.0.0.1:{web_port}/healthz") == 200
        assert await answers(f"http://127.0.0.1:{web_port}/readyz") == 200
    finally:
        if watch is not None:
            watch.done.set()
            watch.join(10)
        stop(serve, sim)
        serve_log.close()

    checks = await asyncio.to_thread(watch.checks)
    before = in_window(checks, healthy_start, faults_at)
    during = in_window(checks, hostile_start, hostile_end)

    def lateness(window: list[Check], tier: str) -> list[float]:
        return [c.late_s for c in window
                if c.code in healthy and c.tier == tier and c.late_s is not None]  # fmt: skip

    # Per tier: a stream check waits for its site's stream slots, a reachability check does not,
    # and the many reachability checks would hide the stream checks' p99 in a common one.
    figures = {tier: (lateness(before, tier), lateness(during, tier)) for tier in INTERVALS}
    for tier, (late_before, late_during) in figures.items():
        print(f"healthy cameras' {tier} start lateness p99: all healthy {p99(late_before):.2f} s "
              f"({len(late_before)} checks), 15 % hostile {p99(late_during):.2f} s "
              f"({len(late_during)} checks)")  # fmt: skip
    site_of = {code: site for site, codes in sites.items() for code in codes}
    latest = sorted((c for c in during if c.code in healthy and c.late_s is not None),
                    key=lambda c: -(c.late_s or 0.0))[:5]  # fmt: skip
    print("latest healthy checks:", [(c.code, site_of[c.code], c.tier, round(c.late_s or 0, 2))
                                     for c in latest])  # fmt: skip
    for tier, (late_before, late_during) in figures.items():
        # Measured for nearly every check (a claim is missed only when two fall between two
        # reads of the schedule).
        recorded = [c for c in during if c.code in healthy and c.tier == tier]
        assert len(late_during) >= 0.9 * len(recorded), (tier, len(late_during), len(recorded))
        assert abs(p99(late_during) - p99(late_before)) < P99_BOUND_S, tier

    # Every healthy camera checked at its interval while the hostile ones were in their faults
    # (from its last check before them), and found healthy: its neighbours' faults are not its.
    span = (hostile_end - faults_at).total_seconds()
    for code in sorted(healthy):
        for tier, interval in INTERVALS.items():
            since = faults_at - timedelta(seconds=interval)
            theirs = [c for c in checks if c.code == code and c.tier == tier
                      and since <= c.started < hostile_end]  # fmt: skip
            starts = sorted(c.started for c in theirs)
            assert len(starts) >= int(span / interval), (code, tier, starts)
            gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
            assert max(gaps, default=0.0) < interval + P99_BOUND_S + 1, (code, tier, gaps)
            assert not [c for c in theirs if c.conditions], (code, tier, theirs)

    # The hostile cameras' checks are failed results, each tier of each one, none dropped.
    settled = faults_at + timedelta(seconds=1)  # a check started before the fault may pass
    for code in hostile:
        for tier in INTERVALS:
            theirs = [c for c in checks
                      if c.code == code and c.tier == tier and c.started > settled]  # fmt: skip
            assert theirs, f"{code} ({hostile[code]}): no {tier} check recorded"
            assert all(c.conditions for c in theirs), (code, hostile[code], theirs)
