"""Web service benchmark (issue 12): `GET /api/v1/cameras?state=down` and the status summary
under 50 concurrent clients on 10,000 registered cameras, `serve --role web` alone and
`--role all` while its poller checks 1,000 simulated cameras, and the live-event fan-out to
200 clients during that load.

    cd tools && ../.venv/bin/python bench_web.py [--cameras 10000] [--polled 1000]
        [--clients 50] [--seconds 15] [--warmup 60] [--sse-clients 200]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--checkout DIR]

Per backend (a temporary SQLite file; with --postgres also a scratch database it creates and
drops): `--cameras - --polled` cameras from tools/bench_lists.py's fleet, `planned` (listed,
counted, a few hundred down or degraded, never checked) and `--polled` simulator cameras
(`vp-monitor sim`, imported from its CSV, active). Then `vp-monitor serve` from `--checkout`
(default: this one; give another to compare versions in one run) as `--role web`, then as
`--role all` after `--warmup` seconds of its poller checking the simulator.

The load is wrk (Debian's, C: `make system-deps`), 50 keep-alive connections on one thread,
each route in turn for `--seconds`, signed in by an operator's API token. While the first
route's load runs, 200 event streams are connected and a camera state change is written to
the database: the time until each stream has it. With `--role all` the schedule table is read
every second during the load: each claim's start lateness (bench_fleet.py's measure).
Figures are the machine's of the moment (2 shared cores): compare them within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
from bench_fleet import ScheduleWatch, listening, wait_for
from bench_lists import populate
from bench_planner import postgres_database

from vp_monitor.db import make_engine, session_factory, transaction, upgrade, utcnow
from vp_monitor.events.record import CAMERA_STATE, record_event

ROUTES = ("/api/v1/cameras?state=down", "/api/v1/status")
ROOT = Path(__file__).resolve().parents[1]
SECRET = "3J5m8kqYtbB0c1i2lO7Wg9dX4nF6pQeSrTvUwZaHxy0="  # the benchmark's throwaway key
# wrk's summary as one line: requests, errors, p50 / p95 / p99 / max latency in microseconds
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FIGURES %d %d %d %d %d %d %d\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max))
end
"""
LAST_SESSION = "2026-12-02 (first measurement, 2,000 cameras, SQLite, --role web, Python client)"
LAST_FIGURES = {ROUTES[0]: (805, 934), ROUTES[1]: (758, 903)}  # p95, p99 ms (docs/benchmarks.md)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    """Progress, as the run goes (a run takes minutes)."""
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def cli(env: dict[str, str], cwd: Path, *args: str, input: str | None = None) -> str:
    command = [sys.executable, "-m", "vp_monitor", *args]
    done = subprocess.run(command, env=env, input=input, capture_output=True, text=True,
                          check=True, timeout=600, cwd=cwd)  # fmt: skip
    return done.stdout


async def wrk(base: str, route: str, token: str, clients: int, seconds: float, script: Path):
    """(requests, socket errors, non-200 answers, p50, p95, p99, max in ms) of one route."""
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
        "-H", f"Authorization: Bearer {token}", base + route,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await process.communicate())[0].decode()
    line = next((x for x in out.splitlines() if x.startswith("FIGURES ")), None)
    if line is None:
        raise SystemExit(f"wrk said:\n{out}")
    requests, errors, statuses, *latencies = (int(v) for v in line.split()[1:])
    return (requests, errors, statuses, *(v / 1000 for v in latencies))


async def fan_out(base: str, token: str, clients: int, url: str) -> list[float]:
    """Seconds from a state change's commit to its arrival at each of `clients` streams."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
    connector = aiohttp.TCPConnector(limit=clients + 10)
    arrived: list[float] = []
    engine = make_engine(url)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as http:
        responses = await asyncio.gather(
            *(http.get(base + "/api/v1/events") for _ in range(clients))
        )
        await asyncio.sleep(2)  # every stream subscribed
        written = {}

        def write() -> None:
            with transaction(session_factory(engine)) as session:
                written["id"] = record_event(session, CAMERA_STATE, at=utcnow(), camera_id=1,
                                             camera="CAM-00000", state="down")  # fmt: skip
            written["at"] = time.perf_counter()

        async def receive(response) -> None:
            while True:
                line = (await response.content.readline()).decode()
                if line.startswith("id: ") and int(line[4:]) == written.get("id"):
                    arrived.append(time.perf_counter() - written["at"])
                    return

        readers = [asyncio.create_task(receive(r)) for r in responses]
        await asyncio.to_thread(write)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*readers), 30)
        for response in responses:
            response.close()
    engine.dispose()
    return arrived


class LatenessWatch:
    """The schedule table read every second in a thread; the claims' start lateness (s)."""

    def __init__(self, url: str) -> None:
        self.watch = ScheduleWatch(url)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            self.watch.read()

    def __enter__(self) -> LatenessWatch:
        self.watch.read()
        self.started = time.time()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)
        self.watch.engine.dispose()

    def figures(self) -> tuple[int, float, float]:
        """Claims during the load, lateness p50 and p99 (s)."""
        late = sorted(c[2] for c in self.watch.claims if c[1] >= self.started)
        if not late:
            return 0, float("nan"), float("nan")
        return len(late), late[len(late) // 2], late[min(len(late) - 1, int(0.99 * len(late)))]


async def measure(role, url, env, options, token, script, watch_lateness: bool) -> list[str]:
    """One server run: the two routes' figures and the fan-out's, as printed lines."""
    port = free_port()
    log = open(Path(options.work) / f"serve-{role}.log", "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "vp_monitor", "serve", "--role", role,
                               "--port", str(port)], env=env, cwd=options.checkout,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base, rows = f"http://127.0.0.1:{port}", []
    try:
        await asyncio.to_thread(wait_for, lambda: listening("127.0.0.1", port), 120, "serve")
        if role == "all":
            await asyncio.sleep(options.warmup)  # the first round of checks and its changes
        say(f"--role {role}: load")
        await wrk(base, ROUTES[0], token, options.clients, 3, script)  # warm-up
        lateness = LatenessWatch(url) if watch_lateness else contextlib.nullcontext()
        with lateness:
            load = os.getloadavg()[0]
            fanning = asyncio.create_task(fan_out(base, token, options.sse_clients, url))
            results = [await wrk(base, route, token, options.clients, options.seconds, script)
                       for route in ROUTES]  # fmt: skip
            arrived = await fanning
            load = max(load, os.getloadavg()[0])
        backend = url.split(":", 1)[0].split("+")[0]
        for route, (n, errors, statuses, p50, p95, p99, top) in zip(ROUTES, results, strict=True):
            bad = f"  {errors} socket errors, {statuses} not 200" if errors or statuses else ""
            rate = n / options.seconds
            rows.append(f"| {backend} | {role} | `{route}` | {rate:,.0f} | {p50:.1f} | "
                        f"{p95:.1f} | {p99:.1f} | {top:.0f} | {load:.1f} |{bad}")  # fmt: skip
        got = len(arrived)
        slowest = "-"
        if got:
            slowest = f"{max(arrived):.3f} s, median {statistics.median(arrived):.3f} s"
        rows.append(f"  {backend} {role}: events {got}/{options.sse_clients} streams received "
                    f"the change, slowest {slowest}")  # fmt: skip
        if watch_lateness:
            claims, p50, p99 = lateness.figures()
            rows.append(f"  {backend} {role}: {claims} checks started during the load, "
                        f"start lateness p50 {p50:.2f} s, p99 {p99:.2f} s")  # fmt: skip
        say("\n".join(rows))
    finally:
        stop(server)
        log.close()
    return rows


async def bench(url: str, options: argparse.Namespace, script: Path) -> list[str]:
    say(f"{url.split(':', 1)[0]}: the fleet")
    engine = make_engine(url)
    upgrade(engine)
    populate(session_factory(engine), options.cameras - options.polled, lifecycle="planned")
    engine.dispose()
    env = {**os.environ, "VP_DATABASE_URL": url, "VP_LOG__LEVEL": "WARNING",
           "VP_SECRET_KEY": SECRET, "PYTHONPATH": str(options.checkout)}  # fmt: skip
    checkout = Path(options.checkout)
    rtsp, onvif = random.randrange(20000, 30000), random.randrange(30000, 40000)
    csv_file = Path(options.work) / f"fleet-{os.getpid()}.csv"
    sim_log = open(Path(options.work) / "sim.log", "w")  # noqa: SIM115
    sim = subprocess.Popen(
        [sys.executable, "-m", "vp_monitor", "sim", "--cameras", str(options.polled),
         "--rtsp-port", str(rtsp), "--onvif-port", str(onvif), "--discovery-port", "0",
         "--write-csv", str(csv_file)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=sim_log, stderr=subprocess.STDOUT,
        cwd=ROOT,
    )  # fmt: skip
    try:
        from vp_monitor.sim.camera import camera_address

        last = camera_address(options.polled)
        wait_for(lambda: listening(last, onvif) and listening(last, rtsp), 300, "the simulator")
        say("importing the simulator's cameras")
        cli(env, checkout, "camera", "import", str(csv_file))  # into municipality 92012
        cli(env, checkout, "user", "add", "bench.operator", "--role", "operator",
            "--password-stdin", input="bench-password-long-enough\n")  # fmt: skip
        token = cli(env, checkout, "token", "create", "--user", "bench.operator", "--name", "b")
        token = token.strip().splitlines()[-1]
        rows = []
        for role in options.roles:
            rows += await measure(role, url, env, options, token, script, role == "all")
        return rows
    finally:
        stop(sim)
        sim_log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000, help="registered in all")
    parser.add_argument("--polled", type=int, default=1_000, help="simulated, checked")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=15, help="of load per route")
    parser.add_argument("--warmup", type=int, default=60, help="--role all: before the load")
    parser.add_argument("--sse-clients", type=int, default=200)
    parser.add_argument("--roles", nargs="+", default=["web", "all"], choices=["web", "all"])
    parser.add_argument("--checkout", default=str(ROOT), help="code of the server under test")
    parser.add_argument("--postgres", help="server URL: a scratch database is made on it")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: make system-deps (apt-get install wrk)")
    options.checkout = str(Path(options.checkout).resolve())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.1f}, server code {options.checkout}, {vars(options)}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as work:
        options.work = work
        script = Path(work) / "figures.lua"
        script.write_text(WRK_SCRIPT)
        rows += asyncio.run(bench(f"sqlite:///{work}/bench.db", options, script))
        if options.postgres:
            url, drop = postgres_database(options.postgres)
            try:
                rows += asyncio.run(bench(url, options, script))
            finally:
                drop()
    print("| backend | role | route | requests/s | p50 ms | p95 ms | p99 ms | max ms | load |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(row for row in rows if row.startswith("|")))
    print("\n".join(row for row in rows if not row.startswith("|")))
    last = (f"{route} p95 {p95} ms p99 {p99} ms" for route, (p95, p99) in LAST_FIGURES.items())
    print(f"last session, {LAST_SESSION}: " + ", ".join(last))


if __name__ == "__main__":
    main()
