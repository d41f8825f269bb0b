"""Free ports on a loopback address, for the simulated cameras of the integration tests."""

from __future__ import annotations

import socket

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
