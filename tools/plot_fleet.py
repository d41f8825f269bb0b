"""The fleet benchmark's cost curve: monitor CPU and memory against the number of cameras,
from the JSON lines `tools/bench_fleet.py --json FILE` appended, with fleet sizes not run
(30,000 by default) projected on paper: the checks a second the fleet needs at the default
tiers times the CPU a check cost in the largest run (what every check due would cost, which a
run that fell behind did not spend). Memory is not projected: it grows with the decoder
workers, not the fleet.

    .venv/bin/python tools/plot_fleet.py /tmp/fleet.jsonl docs/fleet-cost.png
    .venv/bin/python tools/plot_fleet.py runs.jsonl out.png --database sqlite --project 30000

Needs matplotlib (`make bench-deps`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# Checks a second one camera needs at the default tiers (bench_fleet.DEFAULT_INTERVALS).
CHECKS_PER_CAMERA_S = 1 / 60 + 1 / 300 + 1 / 86400
MACHINE_CORES = 2


def load(path: Path, database: str | None) -> list[dict]:
    """The runs of the file (one poller each), the latest run kept for each fleet size."""
    runs: dict[tuple[str, int], dict] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        run = json.loads(line)
        if run.get("pollers", 1) != 1 or (database and run["database"] != database):
            continue
        runs[(run["database"], run["cameras"])] = run
    if not runs:
        raise SystemExit(f"{path}: no single-poller run" + (f" on {database}" if database else ""))
    return sorted(runs.values(), key=lambda r: (r["database"], r["cameras"]))


def plot(runs: list[dict], out: Path, project: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    figure, (cpu_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for database in sorted({r["database"] for r in runs}):
        mine = [r for r in runs if r["database"] == database]
        cameras = [r["cameras"] for r in mine]
        cpu_axis.plot(cameras, [r["monitor_cores"] for r in mine], "o-", label=database)
        memory_axis.plot(cameras, [r["peak_pss_mb"] for r in mine], "o-", label=f"{database} PSS")
        largest = mine[-1]
        per_check_s = largest["cpu_ms_per_check"] / 1000
        sizes = [largest["cameras"], *sorted(n for n in project if n > largest["cameras"])]
        if len(sizes) > 1:
            cpu_axis.plot(
                sizes,
                [n * CHECKS_PER_CAMERA_S * per_check_s for n in sizes],
                "--",
                color=cpu_axis.lines[-1].get_color(),
                label=f"{database}: every check due, at {largest['cpu_ms_per_check']:.1f} ms each",
            )
    cpu_axis.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    cpu_axis.text(cpu_axis.get_xlim()[0], 1.02, "target: 1 core", color="grey", fontsize=8)
    cpu_axis.axhline(MACHINE_CORES, color="firebrick", linewidth=0.8, linestyle=":")
    cpu_axis.text(cpu_axis.get_xlim()[0], MACHINE_CORES + 0.02, "the machine", fontsize=8,
                  color="firebrick")  # fmt: skip
    cpu_axis.set(xlabel="cameras", ylabel="monitor CPU (cores, decoder workers included)",
                 title="Monitor CPU, default tiers")  # fmt: skip
    memory_axis.axhline(500, color="grey", linewidth=0.8, linestyle=":")
    memory_axis.text(memory_axis.get_xlim()[0], 505, "target: 500 MB", color="grey", fontsize=8)
    memory_axis.set(xlabel="cameras", ylabel="peak PSS (MB, workers included)",
                    title="Monitor memory", ylim=(0, 600))  # fmt: skip
    for axis in (cpu_axis, memory_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    dates = sorted({r["date"][:10] for r in runs})
    figure.suptitle(f"tools/bench_fleet.py, {', '.join(dates)}", fontsize=9)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="JSON lines of tools/bench_fleet.py --json")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--database", choices=("sqlite", "postgresql"))
    parser.add_argument("--project", type=int, nargs="*", default=[30000],
                        help="fleet sizes projected from the largest run")  # fmt: skip
    options = parser.parse_args()
    runs = load(options.runs, options.database)
    plot(runs, options.out, options.project)
    for run in runs:
        print(
            f"{run['database']:10} {run['cameras']:>6} cameras: {run['monitor_cores']:.2f} "
            f"cores, {run['cpu_ms_per_check']:.1f} ms a check, PSS {run['peak_pss_mb']} MB"
        )
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
