"""CPU of one reachability check (the unauthenticated ONVIF clock read and the RTSP DESCRIBEs,
as `probes.check.run_tier` runs them) against simulated cameras with Digest authentication,
for this checkout and others to compare in the same run; rounds alternate between them.

    .venv/bin/python tools/bench_reachability.py
    .venv/bin/python tools/bench_reachability.py --checkout /tmp/before --checkout .

CPU is the measuring process's own (time.process_time): these probes use no worker process.
The simulator runs from this checkout in its own process, not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PROBES = ("clock", "rtsp", "reachability")


async def measure(cameras: int, checks: int, concurrency: int) -> dict[str, float]:
    """ms of CPU a check of each probe, and of the whole tier, after a warm-up."""
    import asyncio

    from vp_monitor.probes.base import ProbeSettings, ProbeTarget
    from vp_monitor.probes.check import run_tier
    from vp_monitor.probes.onvif import close_clock_session
    from vp_monitor.probes.runner import run_probe
    from vp_monitor.sim.camera import camera_address

    settings = ProbeSettings()

    def target(n: int) -> ProbeTarget:
        host = camera_address(1 + n % cameras)
        return ProbeTarget(f"cam{n}", host, 8000, "admin", "admin", f"rtsp://{host}:8554/main",
                           f"rtsp://{host}:8554/sub")  # fmt: skip

    async def check(kind: str, n: int):
        if kind == "reachability":
            return await run_tier(kind, target(n), settings)
        return await run_probe(kind, target(n), settings)

    async def run(kind: str, count: int) -> float:
        slots = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with slots:
                result = await check(kind, n)
                if result.conditions:
                    raise SystemExit(f"{kind} check of camera {n}: {sorted(result.conditions)}")

        started = time.process_time()
        await asyncio.gather(*(one(n) for n in range(count)))
        return (time.process_time() - started) * 1000 / count

    figures = {}
    for kind in PROBES:
        await run(kind, min(checks, 200))  # warm-up: the first sight of each camera
        figures[kind] = await run(kind, checks)
    await close_clock_session()
    return figures


def start_simulator(cameras: int) -> subprocess.Popen:
    sim = subprocess.Popen(
        [str(HERE / ".venv" / "bin" / "vp-monitor"), "sim", "--cameras", str(cameras),
         "--discovery-port", "0", "--auth", "digest"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE,
    )  # fmt: skip
    assert sim.stdout is not None
    for line in sim.stdout:
        if "Ctrl-C stops" in line:
            return sim
    raise SystemExit("the simulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", help="code to measure (repeatable)")
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--checks", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        import asyncio

        figures = asyncio.run(measure(args.cameras, args.checks, args.concurrency))
        print(json.dumps(figures))
        return
    checkouts = [Path(c).resolve() for c in args.checkout or [str(HERE)]]
    sim = start_simulator(args.cameras)
    results: dict[Path, list[dict[str, float]]] = {c: [] for c in checkouts}
    try:
        for _ in range(args.rounds):
            for checkout in checkouts:
                run = subprocess.run(
                    [sys.executable, __file__, "--measure", "--cameras", str(args.cameras),
                     "--checks", str(args.checks), "--concurrency", str(args.concurrency)],
                    env={**os.environ, "PYTHONPATH": str(checkout)}, cwd="/tmp",
                    capture_output=True, text=True, timeout=600, check=True,
                )  # fmt: skip
                results[checkout].append(json.loads(run.stdout.strip().splitlines()[-1]))
    finally:
        sim.terminate()
        sim.wait(timeout=20)
    print(
        f"{args.cameras} simulated cameras (Digest), {args.checks} checks a probe a round, "
        f"{args.concurrency} at once, {args.rounds} rounds; median (min-max) ms CPU a check"
    )
    print()
    print("| checkout | " + " | ".join(PROBES) + " |")
    print("|---|" + "---:|" * len(PROBES))
    for checkout, rounds in results.items():
        cells = []
        for kind in PROBES:
            values = [r[kind] for r in rounds]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        print(f"| {checkout} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
