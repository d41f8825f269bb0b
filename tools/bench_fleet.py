"""Fleet benchmark: N simulated cameras checked by `vp-monitor serve --role poller` at the
default tiers, on a fresh database; what it costs and whether checks start on time.

    .venv/bin/python tools/bench_fleet.py --cameras 1000 --seconds 180
    .venv/bin/python tools/bench_fleet.py --cameras 3000 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python tools/bench_fleet.py --cameras 1000 --checkout /tmp/main  # code to compare

The simulator (`vp-monitor sim --write-csv`: cameras spread over sites) runs in its own
process from this checkout; the monitor, the database migration and the import run from
`--checkout` (default: this one), so two versions are measured against the same simulator.
Every second the tool reads the schedule table: a row whose `last_started_at` moved was
claimed, and its start lateness is that time minus the `next_due_at` it had just before.
CPU is read from /proc for the serve process and every process under it (decoder workers,
the forkserver; `cutime` counts those that ended), over the window after `--warmup`; memory
is the peak of the tree's summed RSS and PSS (smaps_rollup). Prints a Markdown table row
and a JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text

HERE = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
DEFAULT_INTERVALS = {"reachability": 60.0, "stream": 300.0, "inventory": 86400.0}


# -- processes -----------------------------------------------------------------------------------
def tree(root: int) -> list[int]:
    """`root` and every live process under it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def cpu_s(pids: list[int]) -> float:
    """User + system CPU of the processes and of their children that ended."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])
    return total / TICK


def sim_cpu(sims: list[subprocess.Popen]) -> float:
    """CPU seconds of every simulator process (reported apart from the monitor's)."""
    return sum(cpu_s(tree(p.pid)) for p in sims)


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """Summed RSS and PSS (MB) of the processes."""
    rss = pss = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return rss / 1024, pss / 1024


def listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


# -- database ------------------------------------------------------------------------------------
def fresh_postgres(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A new database on the server of `admin_url`; its URL and how to drop it."""
    name = f"vpbench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return url, drop


class ScheduleWatch:
    """Claims seen in the schedule table between two reads, with their start lateness."""

    def __init__(self, url: str) -> None:
        from vp_monitor.monitor.models import CheckSchedule

        self.engine = create_engine(url)
        self.table = CheckSchedule.__table__
        self.rows: dict[int, tuple[str, datetime | None, datetime | None]] = {}
        self.claims: list[tuple[str, float, float]] = []  # tier, started (epoch), lateness
        self.overdue_s = 0.0  # oldest due row not yet claimed, at the last read

    def read(self) -> None:
        t = self.table
        query = select(t.c.id, t.c.tier, t.c.next_due_at, t.c.last_started_at, t.c.lease_owner)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        now, oldest = datetime.now(UTC), 0.0
        for row_id, tier, due, started, owner in rows:
            before = self.rows.get(row_id)
            if before is not None and started is not None and started != before[2]:
                due_before = before[1]
                if due_before is not None:
                    lateness = (started - due_before).total_seconds()
                    self.claims.append((tier, started.timestamp(), lateness))
            if owner is None and due is not None and due < now:
                oldest = max(oldest, (now - due).total_seconds())
            self.rows[row_id] = (tier, due, started)
        self.overdue_s = oldest


# -- the run -------------------------------------------------------------------------------------
def run(options: argparse.Namespace) -> dict:
    checkout = Path(options.checkout).resolve()
    work = Path(tempfile.mkdtemp(prefix="vp-fleet-"))
    drop = None
    if options.postgres:
        url, drop = fresh_postgres(options.postgres)
    else:
        url = f"sqlite:///{work / 'vp.db'}"
    (work / "vp.toml").write_text(
        f'database_url = "{url}"\nsecret_key_file = "{work / "key"}"\n'
        + options.extra_config.replace("\\n", "\n")
        + "\n"
    )
    base_env = {**os.environ, "VP_CONFIG": str(work / "vp.toml")}
    base_env.pop("VP_SECRET_KEY", None)
    sim_env = {**base_env, "PYTHONPATH": str(HERE)}
    # The code under test: `python -m` puts the working directory first on the path.
    env = {**base_env, "PYTHONPATH": str(checkout)}
    rtsp, onvif = random.randrange(20000, 30000), random.randrange(30000, 40000)
    csv_file = work / "fleet.csv"
    sim_args = ["--cameras", str(options.cameras), "--rtsp-port", str(rtsp),
                "--onvif-port", str(onvif), "--discovery-port", "0"]  # fmt: skip
    subprocess.run([sys.executable, "-m", "vp_monitor", "sim", *sim_args, "--write-csv",
                    str(csv_file), "--csv-only"], env=sim_env, check=True, capture_output=True,
                   timeout=120, cwd=HERE)  # fmt: skip
    # One process serves at most ~8,000 cameras under a 20,000 open-file limit: the fleet is
    # cut into equal parts, each its own process on its own loopback addresses.
    parts = options.sim_processes or -(-options.cameras // 5000)
    sims = []
    for k in range(1, parts + 1):
        sim_log = open(work / f"sim{k}.log", "w")  # noqa: SIM115
        sims.append(subprocess.Popen(
            [sys.executable, "-m", "vp_monitor", "sim", *sim_args, "--part", str(k), str(parts)],
            env=sim_env, stdout=sim_log, stderr=subprocess.STDOUT, cwd=HERE,
        ))  # fmt: skip
    serve = watch = None
    try:
        from vp_monitor.sim.camera import camera_address

        size = -(-options.cameras // parts)
        for k in range(1, parts + 1):
            last = camera_address(min(k * size, options.cameras))
            wait_for(
                lambda a=last: listening(a, onvif) and listening(a, rtsp), 300, "the simulator"
            )

        def cli(*args: str) -> None:
            subprocess.run([sys.executable, "-m", "vp_monitor", *args], env=env, check=True,
                           capture_output=True, timeout=600, cwd=checkout)  # fmt: skip

        cli("db", "upgrade")
        cli("municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt")
        cli("camera", "import", str(csv_file))
        serve_log = open(work / "serve.log", "w")  # noqa: SIM115
        serve = subprocess.Popen(
            [sys.executable, "-m", "vp_monitor", "serve", "--role", "poller"],
            env=env, stdout=serve_log, stderr=subprocess.STDOUT, cwd=checkout,
        )  # fmt: skip
        started = time.monotonic()
        watch = ScheduleWatch(url)
        wait_for(lambda: _scheduled(watch, options.cameras), 120, "the schedule")
        cpu0 = sim_cpu0 = t0 = None
        peak_rss = peak_pss = 0.0
        last_memory = 0.0
        while time.monotonic() - started < options.warmup + options.seconds:
            tick = time.monotonic()
            watch.read()
            if cpu0 is None and tick - started >= options.warmup:
                cpu0, sim_cpu0, t0 = cpu_s(tree(serve.pid)), sim_cpu(sims), time.time()
            if tick - last_memory >= 5:
                rss, pss = memory_mb(tree(serve.pid))
                peak_rss, peak_pss, last_memory = max(peak_rss, rss), max(peak_pss, pss), tick
            if serve.poll() is not None:
                raise SystemExit(f"serve ended with {serve.returncode}; see {work}/serve.log")
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        cpu1, sim_cpu1, t1 = cpu_s(tree(serve.pid)), sim_cpu(sims), time.time()
        load = os.getloadavg()[1]  # the machine's load over the last 5 minutes (shared VM)
        processes = len(tree(serve.pid))
    finally:
        for process in (serve, *sims):
            if process is not None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(40)
                process.kill()
        if watch is not None:
            watch.engine.dispose()
        if drop is not None:
            drop()
    window = t1 - t0
    claims = [c for c in watch.claims if t0 <= c[1] <= t1]
    lateness = sorted(c[2] for c in claims)
    by_tier = {
        tier: round(sum(1 for c in claims if c[0] == tier) / window, 2)
        for tier in DEFAULT_INTERVALS
    }
    needed = {tier: round(options.cameras / s, 2) for tier, s in DEFAULT_INTERVALS.items()}
    cpu = cpu1 - cpu0
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cameras": options.cameras,
        "database": "postgresql" if options.postgres else "sqlite",
        "checkout": str(checkout), "window_s": round(window, 1),
        "checks_per_s": by_tier, "needed_per_s": needed, "checks": len(claims),
        "lateness_p50_s": _quantile(lateness, 0.5), "lateness_p99_s": _quantile(lateness, 0.99),
        "overdue_at_end_s": round(watch.overdue_s, 1),
        "monitor_cores": round(cpu / window, 3),
        "cpu_ms_per_check": round(1000 * cpu / max(1, len(claims)), 2),
        "peak_rss_mb": round(peak_rss), "peak_pss_mb": round(peak_pss), "processes": processes,
        "simulator_cores": round((sim_cpu1 - sim_cpu0) / window, 3), "load_5min": load,
        "simulator_processes": parts,
        "work": str(work),
    }  # fmt: skip


def _scheduled(watch: ScheduleWatch, cameras: int) -> bool:
    watch.read()
    return len(watch.rows) >= cameras * len(DEFAULT_INTERVALS)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 2)


def markdown_row(r: dict) -> str:
    done = " / ".join(
        f"{r['checks_per_s'][t]:g} / {r['needed_per_s'][t]:g}" for t in ("reachability", "stream")
    )
    return (
        f"| {r['cameras']:,} | {r['database']} | {r['monitor_cores']:.2f} | "
        f"{r['cpu_ms_per_check']:.1f} | {r['peak_rss_mb']} ({r['peak_pss_mb']}) | {done} | "
        f"{r['lateness_p50_s']} / {r['lateness_p99_s']} s | {r['overdue_at_end_s']} s | "
        f"{r['simulator_cores']:.2f} | {r.get('load_5min', 0):.1f} |"
    )


HEADER = (
    "| cameras | database | monitor cores | CPU ms / check | peak RSS (PSS) MB | reachability "
    "done / needed per s, stream done / needed | lateness p50 / p99 | oldest overdue at end | "
    "simulator cores | machine load (5 min) |\n|---:|---|---:|---:|---:|---|---|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=180, help="measured window")
    parser.add_argument("--warmup", type=float, default=60, help="seconds before measuring")
    parser.add_argument("--checkout", default=str(HERE), help="code of the monitor under test")
    parser.add_argument("--postgres", help="server URL: a fresh database is made on it")
    parser.add_argument("--extra-config", default="", help="TOML appended to the config")
    parser.add_argument(
        "--sim-processes",
        type=int,
        default=0,
        help="simulator processes (default: one per 5,000 cameras)",
    )
    parser.add_argument("--json", type=Path, help="append the result as a JSON line here")
    options = parser.parse_args()
    result = run(options)
    print(HEADER)
    print(markdown_row(result))
    print(json.dumps(result))
    if options.json:
        with options.json.open("a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
