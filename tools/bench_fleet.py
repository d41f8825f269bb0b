"""Fleet benchmark: N simulated cameras checked by `vp-monitor serve --role poller` at the
default tiers, on a fresh database; what it costs and whether checks start on time.

    .venv/bin/python tools/bench_fleet.py --cameras 1000 --seconds 180
    .venv/bin/python tools/bench_fleet.py --cameras 3000 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python tools/bench_fleet.py --cameras 1000 --checkout /tmp/main  # code to compare
    .venv/bin/python tools/bench_fleet.py --cameras 10000 --pollers 2 --postgres URL

The simulator (`vp-monitor sim --write-csv`: cameras spread over sites) runs in its own
process from this checkout; the monitor, the database migration and the import run from
`--checkout` (default: this one), so two versions are measured against the same simulator.
`--pollers N` starts N serve processes sharing the fleet through the database's leases
(PostgreSQL: a second node is refused on SQLite). Every second the tool reads the schedule
table: a row whose `last_started_at` moved was claimed, and its start lateness is that time
minus the `next_due_at` it had just before. CPU is read from /proc for the serve processes and
every process under them (decoder workers, the forkserver; `cutime` counts those that ended),
over the window after `--warmup`; memory is the peak of the trees' summed RSS and PSS
(smaps_rollup); the database's growth over the window is given per day of history. Prints a
Markdown table row and a JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

HERE = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
DEFAULT_INTERVALS = {"reachability": 60.0, "stream": 300.0, "inventory": 86400.0}
WATCH_SLACK = timedelta(seconds=5)


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


def monitor_cpu(serves: list[subprocess.Popen]) -> float:
    """CPU seconds of every serve process with its decoder workers."""
    return sum(cpu_s(tree(p.pid)) for p in serves)


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


def history_rows(engine) -> int:
    """Rows of check history (written on a change, and every `monitor.history_every_s`)."""
    from vp_monitor.monitor.models import CheckRecord

    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(CheckRecord)).scalar()


def database_mb(engine, work: Path) -> float:
    """The database's size on disk (MB): the SQLite file with its journal, or PostgreSQL's."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            return size.scalar() / 1e6
    return sum(f.stat().st_size for f in work.glob("vp.db*")) / 1e6


class ScheduleWatch:
    """Claims seen in the schedule table between two reads, with their start lateness.

    A claim sets a row's `last_started_at` and moves its `next_due_at`; a finish may move
    `next_due_at` (an early retry) and sets `last_finished_at`. Each read takes only the rows
    one of those two times moved since the last read, so the tool's own cost stays small next
    to the monitor's at 10,000 cameras (reading every row each second took ~0.24 core).
    """

    def __init__(self, url: str) -> None:
        from vp_monitor.monitor.models import CheckSchedule

        self.engine = create_engine(url)
        self.table = CheckSchedule.__table__
        self.rows: dict[int, tuple[datetime | None, datetime | None]] = {}  # due, started
        self.claims: list[tuple[str, float, float]] = []  # tier, started (epoch), lateness
        self.overdue_s = 0.0  # oldest due row not yet claimed, at the last read
        self.started_mark = self.finished_mark = None

    def read(self) -> None:
        t = self.table
        query = select(t.c.id, t.c.tier, t.c.next_due_at, t.c.last_started_at,
                       t.c.last_finished_at)  # fmt: skip
        if self.started_mark is not None:
            # A few seconds back: a claim stamped before the newest one seen may commit after
            # the read that saw it (another poller's, a slow transaction).
            query = query.where(
                (t.c.last_started_at >= self.started_mark - WATCH_SLACK)
                | (t.c.last_finished_at >= self.finished_mark - WATCH_SLACK)
            )
        now = datetime.now(UTC)
        oldest_due = select(func.min(t.c.next_due_at)).where(
            t.c.lease_owner.is_(None), t.c.next_due_at < now
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            oldest = connection.execute(oldest_due).scalar()
        for row_id, tier, due, started, finished in rows:
            before = self.rows.get(row_id)
            if before is not None and started is not None and started != before[1]:
                if before[0] is not None:
                    lateness = (started - before[0]).total_seconds()
                    self.claims.append((tier, started.timestamp(), lateness))
            self.rows[row_id] = (due, started)
            self.started_mark = _latest(self.started_mark, started)
            self.finished_mark = _latest(self.finished_mark, finished)
        if self.started_mark is not None and self.finished_mark is None:
            self.finished_mark = self.started_mark
        self.overdue_s = 0.0 if oldest is None else (now - _utc(oldest)).total_seconds()


def _latest(mark: datetime | None, value: datetime | None) -> datetime | None:
    if value is None:
        return mark
    return value if mark is None else max(mark, value)


def _utc(value: datetime) -> datetime:
    """A scalar read without the column's type (min()) comes back naive on SQLite."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- a storm: a share of the cameras failing at once ---------------------------------------------
class Receiver:
    """A webhook receiver on loopback: when each camera's `opened` event arrived, how many
    messages and items came in."""

    def __init__(self) -> None:
        self.opened: dict[str, float] = {}  # camera code -> arrival (epoch)
        self.messages = self.items = 0
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.time()
                receiver.messages += 1
                for item in body.get("items", []):
                    receiver.items += 1
                    if item.get("event") == "opened":
                        receiver.opened.setdefault(item["camera"]["code"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start_storm(csv_file: Path, share: float, onvif: int) -> tuple[float, list[str]]:
    """Make every 1/share-th camera refuse every connection (their uplinks cut, each on a
    spread over the sites); when it started and the cameras' codes."""
    from vp_monitor.sim.camera import camera_address

    with csv_file.open() as rows:
        codes = [row["code"] for row in csv.DictReader(rows)]
    step = max(1, round(1 / share))
    picked = list(range(1, len(codes) + 1, step))  # camera n is the CSV's n-th row

    def fault(n: int) -> None:
        request = urllib.request.Request(
            f"http://{camera_address(n)}:{onvif}/sim/fault", data=b'{"fault": "refuse"}',
            headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10):
            pass

    started = time.time()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(fault, picked))
    return started, [codes[n - 1] for n in picked]


def storm_figures(receiver: Receiver, started: float, codes: list[str], url: str) -> dict:
    """How fast the storm's incidents reached the receiver, and what the outbox held."""
    from vp_monitor.alerts.models import Delivery, OutboxEvent

    told = sorted(receiver.opened[c] - started for c in codes if c in receiver.opened)
    engine = create_engine(url)
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(OutboxEvent)).scalar()
        waiting = connection.execute(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivery_id.is_(None))
        ).scalar()
        deliveries = connection.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
    engine.dispose()
    span = (told[-1] - told[0]) if len(told) > 1 else 0.0
    return {
        "storm_cameras": len(codes), "storm_told": len(told),
        "storm_told_p50_s": _quantile(told, 0.5), "storm_told_p99_s": _quantile(told, 0.99),
        "storm_told_max_s": round(told[-1], 1) if told else None,
        "storm_messages": receiver.messages, "storm_items": receiver.items,
        "storm_items_per_s": round(len(told) / span, 1) if span else None,
        "outbox_events": events, "outbox_waiting_at_end": waiting,
        "deliveries": {status: count for status, count in deliveries},
    }  # fmt: skip


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
    serves: list[subprocess.Popen] = []
    watch = None
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
        receiver = storm = None
        if options.storm:
            receiver = Receiver()  # the supervision centre's webhook: told of every incident
            cli("contact", "add", "supervision", "--channel", "webhook", "--address", receiver.url)
        serves = []
        for k in range(1, options.pollers + 1):
            serve_log = open(work / f"serve{k}.log", "w")  # noqa: SIM115
            serves.append(subprocess.Popen(
                [sys.executable, "-m", "vp_monitor", "serve", "--role", "poller"],
                env={**env, "VP_MONITOR__NODE": f"bench-poller-{k}"}, stdout=serve_log,
                stderr=subprocess.STDOUT, cwd=checkout,
            ))  # fmt: skip
        started = time.monotonic()
        watch = ScheduleWatch(url)
        wait_for(lambda: _scheduled(watch, options.cameras), 120, "the schedule")
        cpu0 = sim_cpu0 = t0 = None
        storm_at = options.warmup + options.seconds / 3
        peak_rss = peak_pss = 0.0
        last_memory = 0.0
        while time.monotonic() - started < options.warmup + options.seconds:
            tick = time.monotonic()
            watch.read()
            if cpu0 is None and tick - started >= options.warmup:
                cpu0, sim_cpu0, t0 = monitor_cpu(serves), sim_cpu(sims), time.time()
                size0, rows0 = database_mb(watch.engine, work), history_rows(watch.engine)
            if receiver and storm is None and tick - started >= storm_at:
                storm = start_storm(csv_file, options.storm, onvif)
            if tick - last_memory >= 5:
                rss, pss = memory_mb([p for s in serves for p in tree(s.pid)])
                peak_rss, peak_pss, last_memory = max(peak_rss, rss), max(peak_pss, pss), tick
            for k, serve in enumerate(serves, 1):
                if serve.poll() is not None:
                    raise SystemExit(
                        f"serve ended with {serve.returncode}; see {work}/serve{k}.log"
                    )
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        cpu1, sim_cpu1, t1 = monitor_cpu(serves), sim_cpu(sims), time.time()
        size1, rows1 = database_mb(watch.engine, work), history_rows(watch.engine)
        load = os.getloadavg()[1]  # the machine's load over the last 5 minutes (shared VM)
        processes = sum(len(tree(s.pid)) for s in serves)
        storm_result = storm_figures(receiver, *storm, url) if storm else {}
    finally:
        for process in (*serves, *sims):
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
        "lateness_p50_p99_s_by_tier": {
            tier: [_quantile(late, 0.5), _quantile(late, 0.99)]
            for tier in DEFAULT_INTERVALS
            if (late := sorted(c[2] for c in claims if c[0] == tier))
        },
        # Whether lateness grows over the window (a backlog building up) or stays level.
        "lateness_p99_s_by_minute": [
            _quantile(sorted(c[2] for c in claims if t0 + 60 * m <= c[1] < t0 + 60 * (m + 1)), 0.99)
            for m in range(int(window // 60))
        ],
        # A check started later than its interval after it was due missed that interval.
        "started_within_interval": round(
            sum(1 for c in claims if c[2] < DEFAULT_INTERVALS[c[0]]) / max(1, len(claims)), 4
        ),
        "overdue_at_end_s": round(watch.overdue_s, 1),
        "monitor_cores": round(cpu / window, 3),
        "cpu_ms_per_check": round(1000 * cpu / max(1, len(claims)), 2),
        "peak_rss_mb": round(peak_rss), "peak_pss_mb": round(peak_pss), "processes": processes,
        "simulator_cores": round((sim_cpu1 - sim_cpu0) / window, 3), "load_5min": load,
        "simulator_processes": parts, "pollers": options.pollers,
        "database_mb": round(size1, 1),
        "database_mb_per_day": round((size1 - size0) / window * 86400, 1),
        "history_rows_per_s": round((rows1 - rows0) / window, 2),
        "history_bytes_per_row": round(1e6 * (size1 - size0) / max(1, rows1 - rows0)),
        "work": str(work), **storm_result,
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
    parser.add_argument(
        "--pollers", type=int, default=1, help="serve processes sharing the fleet (PostgreSQL)"
    )
    parser.add_argument(
        "--storm", type=float, default=0.0,
        help="share of the cameras made to fail at once a third into the window (0.1: 10 %%)",
    )  # fmt: skip
    parser.add_argument("--extra-config", default="", help="TOML appended to the config")
    parser.add_argument(
        "--sim-processes",
        type=int,
        default=0,
        help="simulator processes (default: one per 5,000 cameras)",
    )
    parser.add_argument("--json", type=Path, help="append the result as a JSON line here")
    options = parser.parse_args()
    if options.pollers > 1 and not options.postgres:
        parser.error("--pollers above 1 needs --postgres: a second node is refused on SQLite")
    result = run(options)
    print(HEADER)
    print(markdown_row(result))
    print(json.dumps(result))
    if options.json:
        with options.json.open("a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
