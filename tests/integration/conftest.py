"""Fixtures for simulator tests: cameras on their own loopback address, a shared GOP cache,
and a minimal RTSP/RTP-over-TCP client written for the tests; and the two towns' cameras the
event tests (hub, server-sent events) record events about."""

from __future__ import annotations

import asyncio
import base64
import random
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from vp_monitor.db import transaction
from vp_monitor.registry.models import Camera, Municipality, Site
from vp_monitor.sim import rtp
from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.rtsp import RtspServer


@pytest.fixture(scope="session")
def gop_cache() -> Iterator[GopCache]:
    """The GOP cache shared by every simulator test: each loop is encoded once per run."""
    cache = GopCache()
    yield cache
    cache.close()


@pytest.fixture
def cameras(factory) -> dict[str, int]:
    """One camera in town A (92012), one in town B (78646)."""
    ids = {}
    with transaction(factory) as session:
        for key, insee in (("a", "92012"), ("b", "78646")):
            town = Municipality(insee=insee, name=f"Town {key}", departement=insee[:2])
            camera = Camera(code=f"CAM-{key}", site=Site(name=f"Site {key}", municipality=town),
                            municipality=town)  # fmt: skip
            session.add(camera)
            session.flush()
            ids[key] = camera.id
    return ids


StartCamera = Callable[..., Awaitable[tuple[SimCamera, RtspServer]]]


@pytest.fixture
async def start_camera(gop_cache: GopCache) -> AsyncIterator[StartCamera]:
    """Factory: start an RTSP camera on a random 127.0.x.y address and a free port."""
    servers: list[RtspServer] = []

    async def start(
        auth: str = "none", session_timeout: float = 60.0, **fields: object
    ) -> tuple[SimCamera, RtspServer]:
        index = random.randrange(20_000, 60_000)  # far from the fleet's first addresses
        camera = SimCamera(index, rtsp_port=0, **fields)  # type: ignore[arg-type]
        server = RtspServer(camera, gop_cache, auth=auth, session_timeout=session_timeout)
        await server.start()
        servers.append(server)
        return camera, server

    yield start
    for server in servers:
        await server.close()


class RtspTestClient:
    """Just enough RTSP to SETUP one stream over TCP and read its RTP packets."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.cseq = 0
        self.session = ""
        self.authorization = ""
        self.rtcp: list[bytes] = []  # RTCP packets seen on channel 1

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float = 5.0) -> RtspTestClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer)

    def use_basic(self, user: str, password: str) -> None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.authorization = f"Basic {token}"

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, timeout: float = 10
    ) -> tuple[int, dict[str, str], bytes]:
        """Send a request; the status, headers and body of its response."""
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
        if self.authorization:
            lines.append(f"Authorization: {self.authorization}")
        if self.session:
            lines.append(f"Session: {self.session}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await asyncio.wait_for(self.read_response(), timeout)

    async def read_response(self) -> tuple[int, dict[str, str], bytes]:
        while True:
            first = await self.reader.readexactly(1)
            if first == b"$":  # RTP already flowing: skip it
                _ch, size = struct.unpack(">BH", await self.reader.readexactly(3))
                await self.reader.readexactly(size)
                continue
            head = (first + await self.reader.readuntil(b"\r\n\r\n")).decode()
            lines = head.strip().split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
            return int(lines[0].split()[1]), headers, body

    async def play_tcp(self, url: str) -> None:
        """DESCRIBE, SETUP (interleaved 0-1) and PLAY `url`; raises on a non-200 answer."""
        status, _h, _b = await self.request("DESCRIBE", url, {"Accept": "application/sdp"})
        assert status == 200, f"DESCRIBE {status}"
        transport = {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}
        status, headers, _b = await self.request("SETUP", url + "/trackID=0", transport)
        assert status == 200, f"SETUP {status}"
        self.session = headers["session"].split(";")[0]
        status, _h, _b = await self.request("PLAY", url)
        assert status == 200, f"PLAY {status}"

    async def read_rtp(self, timeout: float = 5.0) -> rtp.RtpPacket:
        """Next RTP packet on channel 0 (RTCP and responses skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                first = await self.reader.readexactly(1)
                if first != b"$":
                    raise AssertionError(f"expected interleaved data, got {first!r}")
                channel, size = struct.unpack(">BH", await self.reader.readexactly(3))
                data = await self.reader.readexactly(size)
                if channel == 0:
                    return rtp.parse_rtp(data)
                self.rtcp.append(data)

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (TimeoutError, ConnectionError):
            pass


@pytest.fixture
async def rtsp_client() -> AsyncIterator[Callable[[str, int], Awaitable[RtspTestClient]]]:
    """Factory: connect RtspTestClients, all closed at the end of the test."""
    clients: list[RtspTestClient] = []

    async def connect(host: str, port: int) -> RtspTestClient:
        client = await RtspTestClient.connect(host, port)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()
