"""The web service on a real socket in a thread of its own, for clients that are not asyncio
(schemathesis, load tools, a browser driven synchronously)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web
from ports import free_port


@contextmanager
def served(web_app: web.Application, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `web_app` until the block ends; yields its base URL."""
    port = free_port(host)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=1)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, host, port).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="web-under-test", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the web service did not start within 10 s")
    try:
        yield f"http://{host}:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
