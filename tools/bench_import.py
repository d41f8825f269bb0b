"""Benchmark: import a generated 5,000-row camera CSV with the real command line.

Usage: .venv/bin/python tools/bench_import.py [--rows 5000] [--database-url URL]
Prints wall-clock seconds for a first import, a re-import (nothing changes) and a bad file.
Target (issue 2): first import of 5,000 rows under 10 s on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MUNICIPALITIES = [("92012", "Boulogne-Billancourt"), ("92050", "Nanterre"), ("78646", "Versailles")]


def write_fleet(path: Path, rows: int, bad_every: int = 0) -> None:
    """A CSV of `rows` cameras over 3 municipalities and 100 sites; every `bad_every` row bad."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "site", "municipality", "kind", "rtsp_main", "rtsp_sub",
                         "username", "password", "maintainer", "tags", "uplink"])  # fmt: skip
        for i in range(1, rows + 1):
            insee = MUNICIPALITIES[i % 3][0]
            site = f"Site {i % 100:03d}"
            host = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
            rtsp = f"rtsp://{host}:554/main" if not bad_every or i % bad_every else "http://x"
            writer.writerow([f"CAM-{i:05d}", f"Caméra {i}", site, insee, "dome", rtsp,
                             f"rtsp://{host}:554/sub", "admin", f"pw-{i}", "Maintenance SA",
                             "voirie;carrefour", f"UP-{i % 100:03d}"])  # fmt: skip


def run(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - started, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    cli = [sys.executable, "-m", "vp_monitor"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = options.database_url or f"sqlite:///{work / 'bench.db'}"
        env = {**os.environ, "VP_DATABASE_URL": url, "VP_SECRET_KEY": ""}
        env.pop("VP_SECRET_KEY")
        env["VP_SECRET_KEY_FILE"] = str(work / "key")
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True,
                       timeout=60)  # fmt: skip
        for insee, name in MUNICIPALITIES:
            subprocess.run([*cli, "municipality", "add", "--insee", insee, "--name", name],
                           env=env, check=True, capture_output=True, timeout=60)  # fmt: skip
        good, bad = work / "fleet.csv", work / "bad.csv"
        write_fleet(good, options.rows)
        write_fleet(bad, options.rows, bad_every=500)
        startup, _ = run([*cli, "camera", "list", "--municipality", "92012"], env)
        first, code1 = run([*cli, "camera", "import", str(good)], env)
        again, code2 = run([*cli, "camera", "import", str(good), "--json"], env)
        refused, code3 = run([*cli, "camera", "import", str(bad)], env)
    print(f"rows: {options.rows}  database: {url.split(':')[0]}")
    print(f"command start-up (empty list): {startup:6.2f} s")
    print(f"first import:                  {first:6.2f} s  exit {code1}")
    print(f"re-import (no change):         {again:6.2f} s  exit {code2}")
    print(f"bad file (refused, 10 bad):    {refused:6.2f} s  exit {code3}")
    print(f"target: first import < 10 s -> {'met' if first < 10 and code1 == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
