"""Serving the web application on a socket, beside the monitor or alone (`serve --role`)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from vp_monitor.service.app import App

log = logging.getLogger(__name__)
SHUTDOWN_S = 5.0  # open requests get this long to finish when the server stops


async def start_web(app: App, host: str, port: int, monitor: Any = None) -> web.AppRunner:
    """The web service listening on host:port, beside `monitor` when this process runs one;
    `await runner.cleanup()` stops it."""
    from vp_monitor.db import shown_url
    from vp_monitor.web.app import create_app

    runner = web.AppRunner(
        create_app(app, monitor=monitor), access_log=None, shutdown_timeout=SHUTDOWN_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    log.info("web service on http://%s:%d/ (database %s)", host, port,
             shown_url(app.settings.database_url))  # fmt: skip
    return runner
