"""Free ports on a loopback address, for the simulated cameras of the integration tests."""

from __future__ import annotations

import socket

from aiohttp import web

_GIVEN: set[tuple[str, int, int]] = set()


def free_port(host: str, kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody listens on at `host`, never the same one twice in a test run: the kernel
    hands a just-closed port out again, so two calls could give two servers one port."""
    while True:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if (host, port, kind) not in _GIVEN:
            _GIVEN.add((host, port, kind))
            return port


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1 at a free port; the runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port("127.0.0.1")
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port
