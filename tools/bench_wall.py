"""Status wall benchmark (issue 13's figures): the wall page in Debian's chromium, signed in as
an operator, with 10,000 registered cameras behind `vp-monitor serve --role web`.

    cd tools && ../.venv/bin/python bench_wall.py [--cameras 10000] [--repeat 10]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Per backend (a temporary SQLite file; with --postgres also a scratch database it creates and
drops): tools/bench_lists.py's fleet (20 municipalities, 500 sites, ~3 % down, ~5 % degraded,
an open incident per down camera), an operator account made by `vp-monitor user add`, then
`vp-monitor serve --role web` on a free loopback port. Chromium signs in through the login form,
then opens `/` once to warm up and `--repeat` times with picture requests refused (the
thumbnails load lazily and are left out of the figures, as the issue says), and reads the
Navigation Timing entry: first byte (responseStart - requestStart, the server's time to answer)
and the load event (loadEventEnd from the start of the navigation). Then, the page left open, a
state change is written to the database as the monitor writes one (the camera's status row and
its change event in one transaction), `--repeat` times on the wall's first tile, each timed
until the tile shows the new state. The wall's own scripts and style sheets are summed from the
responses of one load. Prints the median and the worst of each figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_lists import populate
from bench_planner import postgres_database
from playwright.async_api import async_playwright
from sqlalchemy import select

from vp_monitor import conditions
from vp_monitor.db import make_engine, session_factory, transaction, upgrade, utcnow
from vp_monitor.events.record import CAMERA_STATE, record_event
from vp_monitor.monitor.models import CameraStatus
from vp_monitor.registry.models import Camera

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-wall-password-long"
SECRET = "bench-wall-secret-key-0123456789abcdef"
# A condition of each kind the wall shows: a picture fault (degraded), no video (down).
PICTURE_FAULT = min(conditions.names(vision=True))
OUTAGE = min(conditions.names(family="outage"))
BARS = {"first byte": 0.200, "load event": 1.0, "change visible": 2.0}


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def cli(env: dict[str, str], *args: str, input: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "vp_monitor", *args], env=env, cwd=ROOT,
                          input=input, capture_output=True, text=True, timeout=120)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"vp-monitor {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def wait_listening(port: int, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve ended with {process.returncode}")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"serve did not listen within {seconds:.0f} s")


def write_state(engine, code: str, state: str) -> None:
    """The camera's new state as the monitor's writer records it: status and event together."""
    with transaction(session_factory(engine)) as session:
        camera = session.scalar(select(Camera).where(Camera.code == code))
        status = session.get(CameraStatus, camera.id)
        previous, found = status.state, [PICTURE_FAULT if state == "degraded" else OUTAGE]
        status.state, status.conditions, status.since = state, found, utcnow()
        record_event(session, CAMERA_STATE, at=utcnow(), camera_id=camera.id, state=state,
                     previous_state=previous, conditions=found, opened=found,
                     cleared=[], flapping=False, in_maintenance=False)  # fmt: skip


async def in_browser(base: str, engine, repeat: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {name: [] for name in BARS} | {"scripts+styles kB": []}
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                    args=["--no-sandbox"])  # fmt: skip
        try:
            context = await chromium.new_context(viewport={"width": 1920, "height": 1080},
                                                 locale="fr-FR")  # fmt: skip
            page = await context.new_page()
            await page.goto(base + "/login")
            await page.fill("#login-name", "bench.operator")
            await page.fill("#login-password", PASSWORD)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            await page.route(
                "**/*",
                lambda route: (
                    route.abort() if route.request.resource_type == "image" else route.continue_()
                ),
            )
            assets: dict[str, int] = {}

            async def note(response) -> None:
                if response.request.resource_type in ("script", "stylesheet"):
                    assets[response.url] = len(await response.body())

            page.on("response", lambda response: asyncio.ensure_future(note(response)))
            await page.goto(base + "/", wait_until="load")  # warm-up: templates, caches
            for _ in range(repeat):
                await page.goto(base + "/", wait_until="load")
                timing = await page.evaluate(
                    "(() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return [t.responseStart - t.requestStart, t.loadEventEnd]; })()"
                )
                figures["first byte"].append(timing[0] / 1000)
                figures["load event"].append(timing[1] / 1000)
            await asyncio.sleep(0.5)
            figures["scripts+styles kB"].append(sum(assets.values()) / 1000)
            await page.locator("#live").wait_for()
            first = await page.locator(".tile").first.get_attribute("data-camera")
            state = await page.locator(".tile").first.get_attribute("data-state")
            for n in range(repeat):
                new = "degraded" if (state == "down") == (n % 2 == 0) else "down"
                written = time.monotonic()
                await asyncio.to_thread(write_state, engine, first, new)
                await page.locator(f'.tile[data-camera="{first}"][data-state="{new}"]').wait_for(
                    timeout=10_000
                )
                figures["change visible"].append(time.monotonic() - written)
        finally:
            await chromium.close()
    return figures


async def bench(url: str, options: argparse.Namespace) -> list[str]:
    engine = make_engine(url)
    upgrade(engine)
    populate(session_factory(engine), options.cameras)
    env = {**os.environ, "VP_DATABASE_URL": url, "VP_LOG__LEVEL": "WARNING",
           "VP_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}  # fmt: skip
    cli(env, "user", "add", "bench.operator", "--role", "operator", "--password-stdin",
        input=PASSWORD + "\n")  # fmt: skip
    port = free_port()
    log = open(Path(options.work) / "serve.log", "w")  # noqa: SIM115
    serve = subprocess.Popen([sys.executable, "-m", "vp_monitor", "serve", "--role", "web",
                              "--port", str(port)], env=env, cwd=ROOT, stdout=log,
                             stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_listening(port, serve, 60)
        figures = await in_browser(f"http://127.0.0.1:{port}", engine, options.repeat)
    finally:
        serve.terminate()
        serve.wait(30)
        log.close()
        engine.dispose()
    backend = url.split(":", 1)[0].split("+")[0]
    rows = []
    for name, values in figures.items():
        bar = BARS.get(name)
        unit = "kB" if bar is None else "s"
        verdict = "" if bar is None else ("met" if max(values) < bar else "NOT met")
        rows.append(f"| {backend} | {name} | {statistics.median(values):.3f} {unit} | "
                    f"{max(values):.3f} {unit} | {bar or 200} {unit} | {verdict} |")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL URL: measure there too")
    options = parser.parse_args()
    print(f"{options.cameras} cameras, load average {os.getloadavg()[0]:.1f}", flush=True)
    print("| database | figure | median | worst | bar | |\n|---|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as work:
        options.work = work
        for row in asyncio.run(bench(f"sqlite:///{work}/wall.db", options)):
            print(row, flush=True)
        if options.postgres:
            url, drop = postgres_database(options.postgres)
            try:
                for row in asyncio.run(bench(url, options)):
                    print(row, flush=True)
            finally:
                drop()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
