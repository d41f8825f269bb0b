"""Web service benchmark: `GET /api/v1/cameras?state=down` and the status summary under 50
concurrent clients, and the live-event fan-out to 200 clients, on 10,000 cameras.

    .venv/bin/python tools/bench_web.py [--cameras 10000] [--clients 50] [--seconds 20]
        [--sse-clients 200] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds the fleet (tools/bench_lists.py's) on a temporary SQLite file and, with --postgres, in
a temporary PostgreSQL database; starts `vp-monitor serve --role web` on it in a process of
its own; an operator account's API token signs the clients in. The load runs from this
process (aiohttp, keep-alive), one request after another per client, both routes in turn;
percentiles are of every request's time. While the load runs, 200 event-stream clients are
connected and a camera's state change is written: the time until each client has it.
Figures are the machine's of the moment: compare them within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from bench_lists import populate
from bench_planner import postgres_database

from vp_monitor.db import make_engine, session_factory, transaction, upgrade, utcnow
from vp_monitor.events.record import CAMERA_STATE, record_event

ROUTES = ("/api/v1/cameras?state=down", "/api/v1/status")
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict[str, str], *args: str, input: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "vp_monitor", *args], env=env, input=input,
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return done.stdout


async def load(base: str, token: str, clients: int, seconds: float) -> dict[str, list[float]]:
    """Each client requests the routes in turn until `seconds` have passed."""
    times: dict[str, list[float]] = {route: [] for route in ROUTES}
    errors = 0
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def client(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.monotonic() < deadline:
                route = ROUTES[n % len(ROUTES)]
                start = time.perf_counter()
                async with http.get(base + route) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                times[route].append(time.perf_counter() - start)
                n += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
    if errors:
        print(f"  {errors} requests answered other than 200")
    return times


async def fan_out(base: str, token: str, clients: int, url: str) -> list[float]:
    """Seconds from a state change's commit to its arrival at each of `clients` streams."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=30)
    arrived: list[float] = []
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        responses = [await http.get(base + "/api/v1/events") for _ in range(clients)]
        await asyncio.sleep(2)  # every stream subscribed
        factory = session_factory(make_engine(url))
        written = {}

        def write() -> None:
            with transaction(factory) as session:
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
        await asyncio.wait_for(asyncio.gather(*readers), 30)
        for response in responses:
            response.close()
    return arrived


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def bench(url: str, options: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    populate(session_factory(engine), options.cameras)
    engine.dispose()
    env = {**os.environ, "VP_DATABASE_URL": url, "VP_LOG__LEVEL": "WARNING",
           "VP_SECRET_KEY": "3J5m8kqYtbB0c1i2lO7Wg9dX4nF6pQeSrTvUwZaHxy0="}  # fmt: skip
    cli(env, "user", "add", "bench.operator", "--role", "operator", "--password-stdin",
        input="bench-password-long-enough\n")  # fmt: skip
    token = cli(env, "token", "create", "--user", "bench.operator", "--name", "bench")
    token = token.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "vp_monitor", "serve", "--role", "web",
                               "--port", str(port)], env=env, cwd=ROOT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                async with aiohttp.ClientSession() as http:
                    async with http.get(base + "/healthz") as response:
                        if response.status == 200:
                            break
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
        await load(base, token, options.clients, 3)  # warm-up
        fanning = asyncio.create_task(fan_out(base, token, options.sse_clients, url))
        times = await load(base, token, options.clients, options.seconds)
        arrived = await fanning
    finally:
        server.terminate()
        server.wait(30)
    backend = url.split(":", 1)[0]
    for route, found in times.items():
        p50, p95, p99 = (percentile(found, share) * 1000 for share in (0.5, 0.95, 0.99))
        print(f"  {backend:10} {route:30} {len(found):6} requests  "
              f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")  # fmt: skip
    print(
        f"  {backend:10} events: {len(arrived)}/{options.sse_clients} clients received the "
        f"change, slowest {max(arrived):.3f} s, median {statistics.median(arrived):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sse-clients", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("VP_TEST_DATABASE_URL"))
    options = parser.parse_args()
    print(json.dumps({k: v for k, v in vars(options).items() if k != "postgres"}))
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(bench(f"sqlite:///{directory}/bench.db", options))
    if options.postgres:
        url, drop = postgres_database(options.postgres)
        try:
            asyncio.run(bench(url, options))
        finally:
            drop()


if __name__ == "__main__":
    main()
