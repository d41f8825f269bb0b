"""A simulated camera keeps answering while it encodes a new fault's pictures."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import pytest

from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.fleet import RunningFleet, load_fleet

pytestmark = pytest.mark.timeout(180)

FLEET_TOML = """
[fleet]
rtsp_port = {rtsp}
onvif_port = {onvif}

[[site]]
name = "Gare"
municipality = "78646"

[[camera]]
code = "SW-01"
index = {index}
site = "Gare"
rtsp_auth = "none"
{timeline}
"""


async def start_fleet(tmp_path, cache: GopCache, timeline: str = "") -> RunningFleet:
    index = random.randrange(20_000, 60_000)
    rtsp_port, onvif_port = random.randrange(20_000, 30_000), random.randrange(30_000, 40_000)
    path = tmp_path / "fleet.toml"
    path.write_text(
        FLEET_TOML.format(rtsp=rtsp_port, onvif=onvif_port, index=index, timeline=timeline)
    )
    running = RunningFleet(load_fleet(path), cache=cache, discovery_port=None)
    await running.start()
    return running


async def test_rtsp_answers_at_once_after_a_new_fault_then_plays_it(tmp_path, rtsp_client):
    """Right after POST /sim/fault, DESCRIBE/SETUP/PLAY answer and RTP flows (the previous
    pictures) while the new loop encodes; the session then switches to the new pictures."""
    cache = GopCache()  # its own cache: the new fault's loop is not encoded yet
    running = await start_fleet(tmp_path, cache)
    try:
        await running.encoded()
        camera = running.fleet.cameras[0].camera
        url = f"rtsp://{camera.host}:{camera.rtsp_port}/main"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            control = f"http://{camera.host}:{camera.onvif_port}/sim/fault"
            async with http.post(control, json={"fault": "covered_dark"}) as response:
                assert response.status == 200
        new_key = cache.key_for(camera, "main")
        started = time.monotonic()
        client = await rtsp_client(camera.host, camera.rtsp_port)
        await asyncio.wait_for(client.play_tcp(url), 2.0)
        await client.read_rtp(timeout=2.0)
        assert time.monotonic() - started < 2.0
        assert cache.get_nowait(new_key) is None, "answered only once the new loop was ready"

        new_loop = await cache.get(new_key, timeout=100)
        new_payloads = {p for au in new_loop.access_units for p in au.payloads}
        deadline = time.monotonic() + 3 * camera.main.gop_seconds + 5
        while (await client.read_rtp(timeout=2.0)).payload not in new_payloads:
            assert time.monotonic() < deadline, "the session never switched to the new pictures"
    finally:
        await running.close()
        cache.close()


async def test_timeline_faults_are_encoded_before_their_time(tmp_path):
    """A fleet's scripted picture faults are encoded ahead: ready when their time comes."""
    cache = GopCache()
    sigma = round(random.uniform(2.0, 6.0), 2)
    at = 25
    timeline = (
        f'  [[camera.timeline]]\n  at = {at}\n  fault = "defocus"\n'
        f"  params = {{ sigma = {sigma} }}\n"
    )
    started = time.monotonic()
    running = await start_fleet(tmp_path, cache, timeline)
    try:
        camera = running.fleet.cameras[0].camera
        await running.encoded()
        async with asyncio.timeout(max(1.0, started + at + 5 - time.monotonic())):
            while camera.fault != "defocus":
                await asyncio.sleep(0.02)
        for stream in ("sub", "main"):
            assert cache.get_nowait(cache.key_for(camera, stream)) is not None, stream
    finally:
        await running.close()
        cache.close()
