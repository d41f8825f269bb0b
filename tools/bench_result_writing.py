"""CPU a result costs the monitor's result writer by batch size: `Monitor._record` (one
transaction: statuses, history, incidents, leases) on batches of 1 to 50 unchanged
reachability results, in the calling thread, on a fresh SQLite database (or --database-url).
What a transaction costs whatever it holds is why the writer waits a moment for its batch to
fill (engine.WRITE_LINGER_S).

    .venv/bin/python tools/bench_result_writing.py [--cameras 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_provisional import bench_engine, frame_jpeg, register  # noqa: E402

from vp_monitor.conditions import observed_by  # noqa: E402
from vp_monitor.db import session_factory, transaction  # noqa: E402
from vp_monitor.monitor.engine import WRITE_BATCH, Monitor, load_jobs  # noqa: E402
from vp_monitor.monitor.planner import Claim  # noqa: E402
from vp_monitor.monitor.settings import MonitorSettings  # noqa: E402
from vp_monitor.probes.tiers import TierResult  # noqa: E402

SIZES = (1, 2, 5, 10, WRITE_BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with bench_engine(args.database_url) as engine:
        monitor = Monitor(engine, MonitorSettings())
        ids = register(engine, args.cameras, frame_jpeg(), True, "W")
        now = datetime.now(UTC)
        claims = [Claim(0, i, 1, "reachability", 60.0, "bench", now, now) for i in ids]
        with transaction(session_factory(engine)) as session:
            jobs = load_jobs(session, claims)
        ok = TierResult("reachability", frozenset(), observed_by("rtsp", False), True)
        costs: dict[int, list[float]] = {size: [] for size in SIZES}
        for _ in range(args.rounds):  # sizes interleaved: the machine's drift hits them alike
            for size in SIZES:
                started = time.thread_time()
                for start in range(0, len(jobs), size):
                    monitor._record([(job, ok) for job in jobs[start : start + size]])
                costs[size].append(1000 * (time.thread_time() - started) / len(jobs))
        monitor.db.shutdown()
        print(f"{engine.dialect.name}, {args.cameras} cameras, {args.rounds} rounds: "
              "ms of CPU a result, median (min-max)")  # fmt: skip
        for size, values in costs.items():
            print(f"  batch of {size:3d}: {statistics.median(values):5.2f} "
                  f"({min(values):.2f}-{max(values):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
