"""A simulated camera (ONVIF and RTSP) on its own loopback address, served by the test's own
event loop: for tests of the commands and the API that talk to a camera."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import cv2
import numpy as np
from aiohttp import web
from ports import free_port

from vp_monitor.probes.capture import close_decoder_pool
from vp_monitor.probes.onvif import close_clients
from vp_monitor.sim.camera import SimCamera, camera_address
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.onvif import create_onvif_app
from vp_monitor.sim.ptz import PtzHead
from vp_monitor.sim.rtsp import RtspServer


@asynccontextmanager
async def simulated_camera(
    password: str, cache: GopCache | None = None, ptz: PtzHead | None = None
) -> AsyncIterator[SimCamera]:
    """A camera answering ONVIF and RTSP (user `admin`, this password) until the block ends,
    its video encoded into `cache` (shared by several tests: each loop is encoded once) or a
    cache of its own; the ONVIF clients and decoder workers the test used are closed with it.
    With `ptz`, a PTZ camera: each preset's view is encoded now too."""
    host = camera_address(random.randrange(30_000, 60_000))
    camera = SimCamera(index=1, host=host, onvif_port=free_port(host), rtsp_port=free_port(host),
                       password=password, ptz=ptz)  # fmt: skip
    own_cache = cache is None
    cache = GopCache() if cache is None else cache
    views = [preset.position for preset in ptz.presets] if ptz else [camera.view]
    for stream in ("main", "sub"):  # encode the loops now, not inside a probe's deadline
        for view in views:
            await cache.get(cache.key_for(camera, stream, view=view))
    server = RtspServer(camera, cache, auth="both")
    await server.start()
    jpeg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    runner = web.AppRunner(create_onvif_app(camera, lambda: jpeg), shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, host, camera.onvif_port).start()
    try:
        yield camera
    finally:
        await close_clients()
        close_decoder_pool()
        await runner.cleanup()
        await server.close()
        if own_cache:
            cache.close()
