"""RTSP server of one simulated camera (RFC 2326): /main and /sub, RTP over TCP (interleaved)
or UDP, Basic and Digest authentication, and the camera's network and protocol faults.

One `RtspServer` listens on (camera.host, camera.rtsp_port). The camera's fault is read at run
time, so flipping `camera.set_fault(...)` changes what connected clients get.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import random
import re
import secrets
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import urlsplit

from vp_monitor.sim import rtp
from vp_monitor.sim.camera import SimCamera, garbage
from vp_monitor.sim.encoder import AccessUnit, EncodedLoop, GopCache, LoopCursor, LoopKey

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 8192
MAX_BODY_BYTES = 8192
MAX_SESSIONS_PER_CONNECTION = 4
SESSION_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0  # to read one whole request once its first byte arrived
WRITE_TIMEOUT_S = 10.0
MAX_WRITE_BUFFER = 1 << 20  # a client this far behind is dropped, not buffered for
NONCE_LIFETIME_S = 300
SENDER_REPORT_INTERVAL_S = 5.0
AUTH_SCHEMES = {"both": ("digest", "basic"), "digest": ("digest",), "basic": ("basic",), "none": ()}
STREAMS = ("main", "sub")
SUPPORTED = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER")
NOT_ALLOWED = ("ANNOUNCE", "RECORD", "REDIRECT", "SET_PARAMETER")
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
}
_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))')
_INTERLEAVED = struct.Struct(">cBH")
_METHOD = re.compile(r"[A-Z][A-Z_]{0,31}")


class BadRequest(Exception):
    """The client sent something that is not a valid RTSP request."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(reason or REASONS.get(status, ""))
        self.status = status


@dataclass
class Request:
    """One parsed RTSP request."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def cseq(self) -> str:
        return self.headers.get("cseq", "0")


@dataclass
class Response:
    """One RTSP response; headers may repeat (WWW-Authenticate)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def encode(self, cseq: str) -> bytes:
        lines = [f"RTSP/1.0 {self.status} {REASONS.get(self.status, 'Error')}", f"CSeq: {cseq}"]
        lines += ["Server: VPSim RTSP/1.0", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def parse_request(head: bytes, body: bytes = b"") -> Request:
    """Parse the request line and headers; raises BadRequest."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "request is not UTF-8") from exc
    lines = text.rstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]):
        raise BadRequest(400, "malformed request line")
    if not parts[2].startswith("RTSP/"):
        raise BadRequest(400, "not an RTSP request")
    if parts[2] != "RTSP/1.0":
        raise BadRequest(505)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise BadRequest(400, "malformed header line")
        headers[name.lower()] = value.strip()
    return Request(parts[0], parts[1], headers, body)


def stream_of(url: str) -> str | None:
    """ "main" or "sub" for rtsp://host/main[/trackID=0], else None."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if not segments or segments[0] not in STREAMS or len(segments) > 2:
        return None
    if len(segments) == 2 and segments[1] != "trackID=0":
        return None
    return segments[0]


class Authenticator:
    """Basic and/or Digest (RFC 2617, MD5, with or without qop=auth) for one camera."""

    def __init__(self, camera: SimCamera, schemes: tuple[str, ...]) -> None:
        self.camera, self.schemes = camera, schemes
        self.realm = f"VPSim {camera.code}"
        self._secret = secrets.token_bytes(16)

    def challenge(self) -> list[tuple[str, str]]:
        """WWW-Authenticate headers for a 401 (strongest scheme first)."""
        headers = []
        if "digest" in self.schemes:
            digest = f'Digest realm="{self.realm}", nonce="{self._nonce()}"'
            headers.append(("WWW-Authenticate", digest))
        if "basic" in self.schemes:
            headers.append(("WWW-Authenticate", f'Basic realm="{self.realm}"'))
        return headers

    def check(self, request: Request) -> bool:
        """True for valid credentials (never under the wrong_credentials fault)."""
        if not self.schemes:
            return True
        if self.camera.fault == "wrong_credentials":
            return False
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and "basic" in self.schemes:
            return self._check_basic(value.strip())
        if scheme.lower() == "digest" and "digest" in self.schemes:
            return self._check_digest(request.method, value)
        return False

    def _check_basic(self, value: str) -> bool:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return _equal(user, self.camera.username) & _equal(password, self.camera.password)

    def _check_digest(self, method: str, value: str) -> bool:
        p = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _AUTH_PARAM.finditer(value)}
        needed = ("username", "nonce", "uri", "response")
        if any(k not in p for k in needed) or not self._nonce_valid(p["nonce"]):
            return False
        if not _equal(p["username"], self.camera.username):
            return False
        ha1 = _md5(f"{self.camera.username}:{self.realm}:{self.camera.password}")
        ha2 = _md5(f"{method}:{p['uri']}")
        if p.get("qop"):
            nc, cnonce = p.get("nc", ""), p.get("cnonce", "")
            expected = _md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:{p['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return _equal(p["response"].lower(), expected)

    def _nonce(self, stamp: int | None = None) -> str:
        """Stateless nonce: issue time plus its HMAC, so no table of nonces is kept."""
        stamp = int(time.time()) if stamp is None else stamp
        mac = hmac.new(self._secret, str(stamp).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{stamp:x}{mac}"

    def _nonce_valid(self, nonce: str) -> bool:
        try:
            stamp = int(nonce[:-24], 16)
        except ValueError:
            return False
        fresh = 0 <= time.time() - stamp <= NONCE_LIFETIME_S
        return fresh and hmac.compare_digest(nonce, self._nonce(stamp))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 Digest is MD5


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass
class Session:
    """One RTSP session: one stream (main or sub) sent over TCP or UDP."""

    id: str
    stream: str
    transport: str  # "tcp" or "udp"
    channel: int = 0
    client: tuple[str, int] | None = None  # UDP destination of RTP
    client_rtcp: tuple[str, int] | None = None  # UDP destination of RTCP
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    seq: int = field(default_factory=lambda: random.getrandbits(16))
    rtptime: int = field(default_factory=lambda: random.getrandbits(32))
    task: asyncio.Task[None] | None = None


class _RtcpListener(asyncio.DatagramProtocol):
    """Receives clients' RTCP on the server's RTCP port; only their arrival time matters."""

    def __init__(self, server: RtspServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.rtcp_seen[addr[0]] = time.monotonic()


class RtspServer:
    """The RTSP server of one camera, bound on (camera.host, camera.rtsp_port)."""

    def __init__(
        self,
        camera: SimCamera,
        cache: GopCache,
        *,
        auth: str = "both",
        session_timeout: float = SESSION_TIMEOUT_S,
    ) -> None:
        if auth not in AUTH_SCHEMES:
            raise ValueError(f"auth must be one of {sorted(AUTH_SCHEMES)}, not {auth!r}")
        self.camera, self.cache = camera, cache
        self.auth = Authenticator(camera, AUTH_SCHEMES[auth])
        self.session_timeout = session_timeout
        self.connections: set[_Connection] = set()
        self.rtcp_seen: dict[str, float] = {}
        # (method, status) of every answer given: what clients' requests cost the camera.
        self.answered: Counter[tuple[str, int]] = Counter()
        self._server: asyncio.Server | None = None
        self._udp: tuple[asyncio.DatagramTransport, asyncio.DatagramTransport] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._fault_changed = asyncio.Event()
        self._fault_listener: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        """Base URL of the camera's RTSP service."""
        return f"rtsp://{self.camera.host}:{self.camera.rtsp_port}"

    async def start(self) -> None:
        """Listen (unless the camera refuses connections) and follow the camera's faults."""
        if self.camera.fault != "refuse":
            await self._listen()
        loop = asyncio.get_running_loop()

        def fault_changed() -> None:  # set_fault may be called from another thread
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(self._fault_changed.set)

        self._fault_listener = fault_changed
        self.camera.fault_listeners.append(fault_changed)
        self._watch = asyncio.create_task(self._follow_faults(), name=f"rtsp-{self.camera.code}")

    async def close(self) -> None:
        """Stop listening, end every connection and release the UDP ports."""
        if self._fault_listener in self.camera.fault_listeners:
            self.camera.fault_listeners.remove(self._fault_listener)
        if self._watch:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._stop_listening()
        await asyncio.sleep(0)  # let aborted connections' handlers see their end
        if self._udp:
            for transport in self._udp:
                transport.close()
            self._udp = None

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept,
            self.camera.host,
            self.camera.rtsp_port,
            limit=MAX_HEADER_BYTES,
            reuse_address=True,
            backlog=256,
        )
        if self.camera.rtsp_port == 0:  # a test asked for any free port: remember which
            self.camera.rtsp_port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.abort()

    async def _follow_faults(self) -> None:
        """Close the listener while the camera refuses connections, re-open it after."""
        while True:
            await self._fault_changed.wait()
            self._fault_changed.clear()
            try:
                refusing = self.camera.fault == "refuse"
                if refusing and self._server:
                    log.info("%s: refusing RTSP connections", self.camera.code)
                    await self._stop_listening()
                elif not refusing and not self._server:
                    await self._listen()
            except Exception:  # supervised: log, keep following the camera
                log.exception("%s: cannot switch the RTSP listener", self.camera.code)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(self, reader, writer)
        self.connections.add(connection)
        try:
            await connection.run()
        except asyncio.CancelledError:
            # Python 3.11's stream callback calls task.exception() on a cancelled handler and
            # logs a traceback: a handler cancelled at shutdown ends quietly instead.
            pass
        except Exception:
            log.exception("%s: RTSP connection failed", self.camera.code)
        finally:
            self.connections.discard(connection)
            connection.abort()

    async def udp_port_pair(self) -> tuple[int, int]:
        """The server's RTP and RTCP ports for UDP sessions (opened on first use)."""
        if self._udp is None:
            self._udp = await self._open_udp_pair()
        rtp_t, rtcp_t = self._udp
        return rtp_t.get_extra_info("sockname")[1], rtcp_t.get_extra_info("sockname")[1]

    async def _open_udp_pair(self) -> tuple[asyncio.DatagramTransport, asyncio.DatagramTransport]:
        loop = asyncio.get_running_loop()
        host = self.camera.host
        for _ in range(20):  # RTP on an even port and RTCP on the next one, as RFC 3550 asks
            rtp_t, _p = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=(host, 0)
            )
            port = rtp_t.get_extra_info("sockname")[1]
            if port % 2 == 0:
                try:
                    rtcp_t, _p = await loop.create_datagram_endpoint(
                        lambda: _RtcpListener(self), local_addr=(host, port + 1)
                    )
                    return rtp_t, rtcp_t
                except OSError:
                    pass
            rtp_t.close()
        raise OSError(f"no free UDP port pair on {host}")

    def send_udp(self, packet: bytes, addr: tuple[str, int], rtcp: bool = False) -> None:
        """Send one RTP (or RTCP) datagram from the server's RTP (or RTCP) port."""
        if self._udp:
            self._udp[1 if rtcp else 0].sendto(packet, addr)


class _Connection:
    """One client's RTSP control connection and the sessions it set up."""

    def __init__(
        self, server: RtspServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server, self.camera = server, server.camera
        self.reader, self.writer = reader, writer
        self.peer = writer.get_extra_info("peername")[0]
        self.sessions: dict[str, Session] = {}
        self.closed = False

    def abort(self) -> None:
        """Stop every session and close the connection."""
        if self.closed:
            return
        self.closed = True
        for session in self.sessions.values():
            if session.task:
                session.task.cancel()
        self.writer.transport.abort()

    async def run(self) -> None:
        """Serve requests until the client leaves, times out or misbehaves."""
        while not self.closed:
            try:
                request = await self._read_request()
            except BadRequest as exc:
                await self._send(Response(exc.status), "0")
                if exc.status == 431:
                    return
                continue
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except TimeoutError:
                if not self._udp_alive():
                    log.info("%s: RTSP session from %s timed out", self.camera.code, self.peer)
                    return
                continue
            if request is None:  # interleaved RTCP from the client: it is alive
                continue
            if self.camera.fault == "hang":
                continue  # the device accepted the connection but never answers
            if self.camera.fault == "garbage":  # random bytes, no RTSP: the client must give up
                await self._write(garbage())
                continue
            log.debug("%s: %s %s", self.camera.code, request.method, urlsplit(request.url).path)
            response = await self._handle(request)
            self.server.answered[(request.method, response.status)] += 1
            await self._send(response, request.cseq)

    def _udp_alive(self) -> bool:
        """A UDP client that keeps sending RTCP receiver reports keeps its session."""
        udp = [s for s in self.sessions.values() if s.transport == "udp"]
        seen = self.server.rtcp_seen.get(self.peer, 0.0)
        return bool(udp) and time.monotonic() - seen < self.server.session_timeout

    async def _read_request(self) -> Request | None:
        """Next request, or None for an interleaved packet; raises TimeoutError when idle."""
        first = await asyncio.wait_for(self.reader.readexactly(1), self.server.session_timeout)
        return await asyncio.wait_for(self._read_rest(first), REQUEST_TIMEOUT_S)

    async def _read_rest(self, first: bytes) -> Request | None:
        if first == b"$":
            _channel, size = struct.unpack(">BH", await self.reader.readexactly(3))
            await self.reader.readexactly(size)
            return None
        try:
            head = first + await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError as exc:
            raise BadRequest(431) from exc
        if len(head) > MAX_HEADER_BYTES:
            raise BadRequest(431)
        request = parse_request(head)
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise BadRequest(400, "bad Content-Length")
        request.body = await self.reader.readexactly(int(length))
        return request

    async def _send(self, response: Response, cseq: str) -> None:
        await self._write(response.encode(cseq))

    async def _write(self, data: bytes) -> None:
        if self.camera.fault == "slow":  # a struggling device: one byte at a time
            delay = float(self.camera.fault_params.get("byte_delay_s", 0.2))
            for i in range(len(data)):
                if self.closed:
                    return
                self.writer.write(data[i : i + 1])
                await asyncio.sleep(delay)
            return
        self.writer.write(data)
        try:
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            self.abort()

    async def _handle(self, request: Request) -> Response:
        method = request.method
        if method in NOT_ALLOWED:
            return Response(405, [("Allow", ", ".join(SUPPORTED))])
        if method not in SUPPORTED:
            return Response(501)
        if method == "OPTIONS":
            return Response(200, [("Public", ", ".join(SUPPORTED))])
        if method in ("DESCRIBE", "SETUP", "PLAY") and not self.server.auth.check(request):
            return Response(401, self.server.auth.challenge())
        handler = {
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "PAUSE": self._pause,
            "TEARDOWN": self._teardown,
            "GET_PARAMETER": self._get_parameter,
        }[method]
        try:
            return await handler(request)
        except BadRequest as exc:
            return Response(exc.status)

    async def _loop_for(self, stream: str) -> tuple[LoopKey, EncodedLoop]:
        try:
            return await self.server.cache.current(self.camera, stream)
        except Exception as exc:  # an encoder failure is the server's fault, not the client's
            raise BadRequest(500) from exc

    async def _describe(self, request: Request) -> Response:
        stream = stream_of(request.url)
        if stream is None:
            return Response(404)
        if self.camera.fault == "rtsp_5xx":
            return Response(503)
        _key, loop = await self._loop_for(stream)
        base = f"{self.server.url}/{stream}/"
        sdp = self._sdp(stream, loop).encode()
        headers = [("Content-Base", base), ("Content-Type", "application/sdp")]
        return Response(200, headers, sdp)

    def _sdp(self, stream: str, loop: EncodedLoop) -> str:
        spec = self.camera.main if stream == "main" else self.camera.sub
        host = self.camera.host
        lines = [
            "v=0",
            f"o=- {random.getrandbits(31)} 1 IN IP4 {host}",
            f"s=VPSim {self.camera.code} {stream}",
            f"c=IN IP4 {host}",
            "t=0 0",
            "a=control:*",
            "a=range:npt=0-",
            f"m=video 0 RTP/AVP {rtp.DEFAULT_PAYLOAD_TYPE}",
            f"b=AS:{spec.bitrate_kbps}",
            f"a=rtpmap:{rtp.DEFAULT_PAYLOAD_TYPE} {loop.encoding_name}/{rtp.RTP_CLOCK_HZ}",
            loop.fmtp(),
            f"a=framerate:{spec.fps}",
            f"a=x-dimensions:{spec.width},{spec.height}",
            f"a=cliprect:0,0,{spec.height},{spec.width}",
            "a=control:trackID=0",
        ]
        return "\r\n".join(lines) + "\r\n"

    async def _setup(self, request: Request) -> Response:
        stream = stream_of(request.url)
        if stream is None:
            return Response(404)
        session_id = request.headers.get("session", "").split(";")[0].strip()
        if session_id and session_id not in self.sessions:
            return Response(454)
        if session_id and self.sessions[session_id].task:
            return Response(455)
        if not session_id and len(self.sessions) >= MAX_SESSIONS_PER_CONNECTION:
            return Response(503)
        session = Session(session_id or secrets.token_hex(8), stream, "tcp")
        reply = await self._transport(request.headers.get("transport", ""), session)
        if reply is None:
            return Response(461)
        self.sessions[session.id] = session
        timeout = int(self.server.session_timeout)
        return Response(200, [("Transport", reply), ("Session", f"{session.id};timeout={timeout}")])

    async def _transport(self, header: str, session: Session) -> str | None:
        """Fill the session's transport from the client's Transport header; the reply or None."""
        for option in header.split(","):  # the client lists what it accepts, preferred first
            fields = [f.strip() for f in option.split(";")]
            params = dict(f.partition("=")[::2] for f in fields[1:])
            if "multicast" in fields:
                continue
            ssrc = f"{session.ssrc:08X}"
            if fields[0] == "RTP/AVP/TCP":
                channels = params.get("interleaved", "0-1")
                first = channels.split("-")[0]
                if not first.isdigit() or int(first) > 254:
                    continue
                session.transport, session.channel = "tcp", int(first)
                return f"RTP/AVP/TCP;unicast;interleaved={first}-{int(first) + 1};ssrc={ssrc}"
            if fields[0] in ("RTP/AVP", "RTP/AVP/UDP") and "client_port" in params:
                port = params["client_port"].split("-")[0]
                if not port.isdigit() or not 0 < int(port) < 65535:
                    continue
                rtp_port, rtcp_port = await self.server.udp_port_pair()
                session.transport, session.client = "udp", (self.peer, int(port))
                session.client_rtcp = (self.peer, int(port) + 1)
                client_ports = f"{port}-{int(port) + 1}"
                return (
                    f"RTP/AVP;unicast;client_port={client_ports};"
                    f"server_port={rtp_port}-{rtcp_port};ssrc={ssrc}"
                )
        return None

    def _session(self, request: Request) -> Session:
        session_id = request.headers.get("session", "").split(";")[0].strip()
        if session_id not in self.sessions:
            raise BadRequest(454)
        return self.sessions[session_id]

    async def _play(self, request: Request) -> Response:
        session = self._session(request)
        if self.camera.fault == "rtsp_5xx":
            return Response(503)
        if session.task is None:
            key, loop = await self._loop_for(session.stream)
            cursor = LoopCursor(self.server.cache, self.camera, session.stream, loop, key)
            player = _Player(self, session, cursor)
            session.task = asyncio.create_task(player.run(), name=f"rtp-{session.id}")
        url = f"{self.server.url}/{session.stream}/trackID=0"
        info = f"url={url};seq={session.seq & 0xFFFF};rtptime={session.rtptime & 0xFFFFFFFF}"
        headers = [("Session", session.id), ("Range", "npt=0.000-"), ("RTP-Info", info)]
        return Response(200, headers)

    async def _pause(self, request: Request) -> Response:
        session = self._session(request)
        if session.task:
            session.task.cancel()
            session.task = None
        return Response(200, [("Session", session.id)])

    async def _teardown(self, request: Request) -> Response:
        session = self._session(request)
        if session.task:
            session.task.cancel()
        del self.sessions[session.id]
        return Response(200, [("Session", session.id)])

    async def _get_parameter(self, request: Request) -> Response:
        if "session" not in request.headers:
            return Response(200)
        return Response(200, [("Session", self._session(request).id)])

    def write_interleaved(self, data: bytes) -> bool:
        """Queue RTP on the control connection; False (and the client dropped) if it lags."""
        transport = self.writer.transport
        if self.closed or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("%s: dropping %s, too slow to read its stream", self.camera.code, self.peer)
            self.abort()
            return False
        transport.write(data)
        return True


class _Player:
    """Sends one session's access units in real time, applying the camera's stream faults."""

    def __init__(self, connection: _Connection, session: Session, cursor: LoopCursor) -> None:
        self.connection, self.session, self.cursor = connection, session, cursor
        self.camera = connection.camera
        self.random = random.Random()
        self.packets = self.octets = 0
        self.next_report = 0.0

    async def run(self) -> None:
        """Pace access units at the stream's frame rate until cancelled or the client goes."""
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: RTP sender failed; closing the connection", self.camera.code)
            self.connection.abort()

    async def _run(self) -> None:
        started = time.monotonic()
        deadline = started
        while True:
            au, ticks = self.cursor.next()
            if self._sending(started):
                if not self._send(au):
                    return
                self._maybe_report()
            self.session.rtptime += ticks
            deadline += ticks / rtp.RTP_CLOCK_HZ
            delay = deadline - time.monotonic()
            if delay < -1.0:  # the process was starved: resume real time instead of bursting
                deadline, delay = time.monotonic(), 0.0
            await asyncio.sleep(max(delay, 0.0))

    def _sending(self, started: float) -> bool:
        fault = self.camera.fault
        if fault == "hang":
            return False
        if fault == "stream_stops":
            after = float(self.camera.fault_params.get("after_s", 5.0))
            return time.monotonic() - max(started, self.camera.fault_since) < after
        return True

    def _packets(self, au: AccessUnit) -> list[bytes]:
        session, fault, params = self.session, self.camera.fault, self.camera.fault_params
        loss = float(params.get("rate", 0.05)) if fault == "packet_loss" else 0.0
        corrupt = float(params.get("rate", 0.05)) if fault == "corrupt" else 0.0
        packets = []
        last = len(au.payloads) - 1
        for n, payload in enumerate(au.payloads):
            seq = session.seq
            session.seq = (seq + 1) & 0xFFFF
            if loss and self.random.random() < loss:
                continue  # lost on the way: the sequence number gap shows it
            if corrupt and len(payload) > 8 and self.random.random() < corrupt:
                payload = self._corrupt(payload)
            packets.append(rtp.rtp_packet(payload, seq, session.rtptime, session.ssrc, n == last))
        return packets

    def _corrupt(self, payload: bytes) -> bytes:
        """Flip a few bytes inside the NAL data (headers kept, so it still parses as RTP)."""
        data = bytearray(payload)
        for i in self.random.sample(range(3, len(data)), min(4, len(data) - 3)):
            data[i] ^= 0xFF
        return bytes(data)

    def _maybe_report(self) -> None:
        """An RTCP sender report every 5 s, stamped with the camera's own clock (so a client
        can see clock_drift in the stream too)."""
        now = time.monotonic()
        if now < self.next_report:
            return
        self.next_report = now + SENDER_REPORT_INTERVAL_S
        session = self.session
        report = rtp.rtcp_sender_report(
            session.ssrc, self.camera.device_clock(), session.rtptime, self.packets, self.octets
        )
        if session.transport == "udp" and session.client_rtcp:
            self.connection.server.send_udp(report, session.client_rtcp, rtcp=True)
        elif session.transport == "tcp":
            header = _INTERLEAVED.pack(b"$", session.channel + 1, len(report))
            self.connection.write_interleaved(header + report)

    def _send(self, au: AccessUnit) -> bool:
        packets = self._packets(au)
        self.packets += len(packets)
        self.octets += sum(len(p) for p in packets) - 12 * len(packets)
        if self.session.transport == "udp":
            addr = self.session.client
            assert addr is not None
            for packet in packets:
                self.connection.server.send_udp(packet, addr)
            return True
        channel = self.session.channel
        framed = b"".join(_INTERLEAVED.pack(b"$", channel, len(p)) + p for p in packets)
        return self.connection.write_interleaved(framed)
