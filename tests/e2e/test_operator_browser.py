"""End to end in a real browser, nothing stood in for: the simulator in its own process,
`vp-monitor serve --role all`, a webhook receiver, and Debian's chromium signed in as an
operator through the login form.

A simulated camera goes black through the simulator's control API; its tile turns degraded
without the page reloading; the incident page shows the evidence beside the reference;
the operator acknowledges it with a note; the page and the webhook receiver both say so.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_serve_e2e import (
    Receivers,
    cli,
    config_text,
    free_port,
    set_fault,
    start_sim,
    start_webhook,
    states,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow(seconds=60)
CHROMIUM = "/usr/bin/chromium"
CAMERAS = ["cam001", "cam002", "cam003"]
PASSWORD = "Operat0r-Browser-2026"
SHOTS = Path(os.environ.get("VP_SHOTS", "/tmp/shots"))
TIMEOUT_MS = 10_000

if not shutil.which(CHROMIUM):
    pytest.skip("chromium is not installed (make system-deps installs it)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api")


async def loaded(page, selector: str) -> None:
    """An image of the page has arrived and decoded (not merely been asked for)."""
    await page.wait_for_function(
        "s => { const i = document.querySelector(s);"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=selector, timeout=TIMEOUT_MS,
    )  # fmt: skip


@pytest.mark.timeout(300)
async def test_operator_sees_a_camera_go_black_and_acknowledges_it(tmp_path):
    receivers = Receivers()
    webhook_runner, webhook_url = await start_webhook(receivers)
    rtsp_port, onvif_port = random.randrange(20000, 30000), random.randrange(30000, 40000)
    web_port = free_port()
    config = tmp_path / "vp.toml"
    config.write_text(config_text(tmp_path, free_port(), "unused"))
    env = {**os.environ, "VP_CONFIG": str(config), "VP_ACTOR": "e2e"}
    env.pop("VP_SECRET_KEY", None)
    sim, csv_path = start_sim(env, tmp_path, len(CAMERAS), rtsp_port, onvif_port)
    serve_log = (tmp_path / "serve.log").open("w")
    serve = None
    database = str(tmp_path / "vp.db")
    try:
        await wait_for(csv_path.exists, 60, "the simulator's registry CSV")
        cli(env, "db", "upgrade")
        cli(env, "municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt")
        cli(env, "camera", "import", str(csv_path))
        await asyncio.to_thread(cli, env, "camera", "reference", "--approve", "--missing")
        cli(env, "contact", "add", "CSU", "--channel", "webhook", "--address", webhook_url,
            "--secret-stdin", input="e2e-key\n")  # fmt: skip
        cli(env, "user", "add", "olga.op", "--role", "operator", "--password-stdin",
            input=PASSWORD + "\n")  # fmt: skip
        serve = subprocess.Popen(
            [sys.executable, "-m", "vp_monitor", "serve", "--role", "all",
             "--port", str(web_port)],
            env=env, stdout=serve_log, stderr=subprocess.STDOUT,
        )  # fmt: skip

        def every_camera_ok() -> bool:
            found = states(database)
            return len(found) == len(CAMERAS) and set(found.values()) == {"ok"}

        await wait_for(every_camera_ok, 120, "every camera ok")

        base = f"http://127.0.0.1:{web_port}"
        async with playwright_api.async_playwright() as playwright:
            chromium = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            try:
                context = await chromium.new_context(
                    viewport={"width": 1280, "height": 800},
                    timezone_id="Europe/Paris",
                    locale="fr-FR",
                )
                context.set_default_timeout(TIMEOUT_MS)
                page = await context.new_page()
                await page.goto(base + "/login")
                await page.fill("#login-name", "olga.op")
                await page.fill("#login-password", PASSWORD)
                async with page.expect_navigation():
                    await page.click("button[type=submit]")
                tiles = await page.eval_on_selector_all(
                    ".tile", "ts => ts.map(t => t.dataset.camera)"
                )
                assert sorted(tiles) == CAMERAS
                await page.locator("#live", has_text="en direct").wait_for()
                await page.evaluate("window.__sameDocument = true")  # gone if the page reloads

                await set_fault(onvif_port, "cam001", "black")
                tile = page.locator('.tile[data-camera="cam001"][data-state="degraded"]')
                await tile.wait_for(timeout=90_000)
                assert await page.evaluate("window.__sameDocument === true"), "the wall reloaded"
                assert "image noire" in await tile.inner_text()
                await loaded(page, '.tile[data-camera="cam001"] img')
                SHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SHOTS / "e2e-wall-black.png"), full_page=True)

                await wait_for(lambda: receivers.seen("webhook", "cam001", "opened"), 60,
                               "the opened alert")  # fmt: skip
                await page.goto(base + "/incidents")
                await page.locator("a", has_text="cam001").first.click()
                await loaded(page, 'img[src*="/evidence"]')
                await loaded(page, 'img[src*="/references/day"]')
                # The finding in plain words, with the measures that show it; the rest folded.
                finding = await page.locator("ul.findings li").first.inner_text()
                assert finding.startswith("image noire — luminosité moyenne : 0"), finding
                assert not await page.locator("details.metrics").get_attribute("open")
                await page.fill("#incident-note", "Équipe de maintenance prévenue")
                async with page.expect_navigation():
                    await page.click('button[value="acknowledge"]')
                said = await page.locator("main").inner_text()
                assert "olga.op" in said and "Équipe de maintenance prévenue" in said
                await page.screenshot(path=str(SHOTS / "e2e-incident-acknowledged.png"),
                                      full_page=True)  # fmt: skip
            finally:
                await chromium.close()
        await wait_for(lambda: receivers.seen("webhook", "cam001", "acknowledged"), 60,
                       "the acknowledgement at the webhook")  # fmt: skip
    finally:
        stop(serve, sim)
        await webhook_runner.cleanup()
        serve_log.close()
