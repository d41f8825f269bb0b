"""RTSP probe: DESCRIBE over a plain socket (no decoding), SDP read, timed.

`RtspClient` is also what the stream probe uses to SETUP, PLAY and read interleaved RTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from vp_monitor.probes.base import ProbeResult, ProbeTarget, failed, redact

DEFAULT_PORT = 554
CODECS = {"H264": "h264", "H265": "h265", "HEVC": "h265", "JPEG": "mjpeg"}
STATIC_PAYLOADS = {26: "mjpeg"}  # RFC 3551: payload type 26 is JPEG without an rtpmap line
_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))')
_CONNECT_ERRORS = (ConnectionError, OSError, asyncio.IncompleteReadError)


@dataclass
class Challenge:
    """A server's authentication challenge (scheme, realm, nonce...) and how many requests
    were authorized with its nonce (Digest's nonce count, which must grow)."""

    fields: dict[str, str]
    count: int = 0


# The challenge each server last accepted, per user: a check starts authorized instead of
# spending a request on being refused (a DESCRIBE a check). A nonce gone stale is refused
# with a new challenge, which is answered then. Bounded: LRU.
CHALLENGES_KEPT = 20_000
CHALLENGES: OrderedDict[tuple[str, int, str], Challenge] = OrderedDict()


def _remember(server: tuple[str, int, str], challenge: Challenge | None) -> None:
    """Keep the challenge `server` accepted (most recent last), or forget a refused one."""
    if challenge is None:
        CHALLENGES.pop(server, None)
        return
    CHALLENGES[server] = challenge
    CHALLENGES.move_to_end(server)
    if len(CHALLENGES) > CHALLENGES_KEPT:
        CHALLENGES.popitem(last=False)


class RtspFailure(Exception):
    """The RTSP exchange failed; `condition` says how (unreachable, auth_failed, rtsp_error)."""

    def __init__(self, condition: str, reason: str) -> None:
        super().__init__(reason)
        self.condition = condition


@dataclass(frozen=True)
class Sdp:
    """What we need from a session description: the first video stream."""

    codec: str
    encoding: str
    payload_type: int
    control: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    parameter_sets: tuple[bytes, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-safe summary (parameter sets left out)."""
        return {"codec": self.codec, "width": self.width, "height": self.height, "fps": self.fps}


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), [""])[0]


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """The URL without user:password@, and the user and password it carried."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, unquote(parts.username), unquote(parts.password or "")


class RtspClient:
    """One RTSP/1.0 control connection (TCP), with Basic and Digest authentication."""

    def __init__(
        self, url: str, username: str | None, password: str | None, max_bytes: int = 64_000
    ) -> None:
        self.url, user, secret = split_credentials(url)
        self.username, self.password = username or user, password or secret
        self.max_bytes = max_bytes
        self.cseq = 0
        self.session = ""
        parts = urlsplit(self.url)
        self._server = (parts.hostname or "", parts.port or DEFAULT_PORT, self.username or "")
        self._challenge = CHALLENGES.get(self._server) if self.username else None
        self._challenge_fresh = False  # answered on this connection
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """Open the TCP connection; raises RtspFailure("unreachable")."""
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port or DEFAULT_PORT
        try:
            self.reader, self.writer = await asyncio.open_connection(
                host, port, limit=self.max_bytes
            )
        except OSError as exc:
            raise RtspFailure(
                "unreachable", f"cannot connect to {host}:{port}: {exc.strerror or exc}"
            ) from None

    async def close(self) -> None:
        """Close the connection (without waiting on a peer that does not answer)."""
        if self.writer is not None:
            self.writer.transport.abort()
            self.writer = None

    async def request(self, method: str, url: str | None = None, **headers: str) -> Response:
        """Send a request, answering one authentication challenge; raises RtspFailure."""
        url = url or self.url
        response = await self._exchange(method, url, headers)
        if response.status == 401 and self.username and not self._challenge_fresh:
            # First asked, or the remembered challenge is no longer accepted: answer this one.
            self._challenge = Challenge(_challenge(response.headers.get("www-authenticate", [])))
            self._challenge_fresh = True
            response = await self._exchange(method, url, headers)
        if self._challenge is not None:
            _remember(self._server, self._challenge if response.status != 401 else None)
        if response.status == 401:
            if not self.username:
                reason = "credentials required, none were given"
            elif not self.password:
                reason = "credentials refused, no password was given"
            else:
                reason = "credentials refused"
            raise RtspFailure("auth_failed", f"{method}: 401 Unauthorized ({reason})")
        if response.status >= 300:
            raise RtspFailure("rtsp_error", f"{method}: status {response.status}")
        return response

    async def _exchange(self, method: str, url: str, extra: dict[str, str]) -> Response:
        assert self.writer is not None
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", "User-Agent: vp-monitor"]
        if self._challenge is not None:
            lines.append(f"Authorization: {self._authorize(method, url)}")
        if self.session:
            lines.append(f"Session: {self.session}")
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            return await self._read_response()
        except asyncio.LimitOverrunError as exc:
            raise RtspFailure("rtsp_error", f"{method}: answer headers too large") from exc
        except asyncio.IncompleteReadError as exc:
            got = len(exc.partial)
            raise RtspFailure(
                "rtsp_error", f"{method}: answer truncated after {got} bytes"
            ) from exc
        except ConnectionError as exc:
            raise RtspFailure("unreachable", f"{method}: connection lost ({exc})") from exc

    async def _read_response(self) -> Response:
        assert self.reader is not None
        while True:
            first = await self.reader.readexactly(1)
            if first == b"$":  # RTP already flowing on this connection: skip it
                size = struct.unpack(">xH", await self.reader.readexactly(3))[0]
                await self.reader.readexactly(size)
                continue
            head = first + await self.reader.readuntil(b"\r\n\r\n")
            break
        response = _parse_head(head)
        length = response.header("content-length") or "0"
        if not length.isdigit():
            raise RtspFailure("rtsp_error", "answer has a bad Content-Length")
        if int(length) > self.max_bytes:
            raise RtspFailure("rtsp_error", f"answer of {length} bytes over the size limit")
        response.body = await self.reader.readexactly(int(length))
        return response

    def _authorize(self, method: str, url: str) -> str:
        assert self._challenge is not None
        challenge = self._challenge.fields
        user, password = self.username or "", self.password or ""
        if challenge.get("scheme") != "digest":
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
        ha1 = _md5(f"{user}:{realm}:{password}")
        ha2 = _md5(f"{method}:{url}")
        fields = {"username": user, "realm": realm, "nonce": nonce, "uri": url}
        if "auth" in challenge.get("qop", "").split(","):
            self._challenge.count += 1
            cnonce, nc = os.urandom(8).hex(), f"{self._challenge.count:08x}"
            fields |= {"qop": "auth", "nc": nc, "cnonce": cnonce}
            fields["response"] = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        else:
            fields["response"] = _md5(f"{ha1}:{nonce}:{ha2}")
        if "opaque" in challenge:
            fields["opaque"] = challenge["opaque"]
        quoted = {"nc", "qop"}
        return "Digest " + ", ".join(
            f"{k}={v}" if k in quoted else f'{k}="{v}"' for k, v in fields.items()
        )

    async def read_interleaved(self) -> tuple[int, bytes]:
        """Next interleaved packet (channel, data); RTSP messages in between are skipped."""
        assert self.reader is not None
        while True:
            head = await self.reader.readexactly(4)
            if head[0] == 0x24:  # "$": channel, 16-bit length
                return head[1], await self.reader.readexactly(int.from_bytes(head[2:], "big"))
            await self.reader.readuntil(b"\r\n\r\n")  # an RTSP message in between: skip it

    async def describe(self, url: str | None = None) -> Sdp:
        """DESCRIBE the URL (this client's, or another on the same server) and parse its SDP;
        raises RtspFailure."""
        url = split_credentials(url)[0] if url else self.url
        response = await self.request("DESCRIBE", url, Accept="application/sdp")
        base = response.header("content-base") or response.header("content-location") or url
        return parse_sdp(response.body, base)


def _parse_head(head: bytes) -> Response:
    lines = head.decode("utf-8", "replace").rstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("RTSP/") or not parts[1].isdigit():
        raise RtspFailure("rtsp_error", f"not an RTSP answer: {lines[0][:60]!r}")
    response = Response(int(parts[1]))
    for line in lines[1:]:
        name, _, value = line.partition(":")
        response.headers.setdefault(name.strip().lower(), []).append(value.strip())
    return response


def _challenge(values: list[str]) -> dict[str, str]:
    """The challenge to answer: Digest when offered (Basic would send the password in clear)."""
    parsed = []
    for value in values:
        scheme, _, rest = value.partition(" ")
        params = {m[1].lower(): m[2] or m[3] for m in _AUTH_PARAM.finditer(rest)}
        parsed.append({"scheme": scheme.lower(), **params})
    digest = [c for c in parsed if c["scheme"] == "digest"]
    return (digest or parsed or [{"scheme": "basic"}])[0]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_sdp(body: bytes, base_url: str) -> Sdp:
    """The first video stream of an SDP; raises RtspFailure when there is none we can decode."""
    text = body.decode("utf-8", "replace")
    media: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("m="):
            if media is not None:
                break
            if line.startswith("m=video"):
                media = [line]
        elif media is not None:
            media.append(line.strip())
    if media is None:
        raise RtspFailure("rtsp_error", "SDP has no video stream (truncated or not SDP)")
    return _video(media, base_url)


def _video(lines: list[str], base_url: str) -> Sdp:
    fields = lines[0].split()
    if len(fields) < 4 or not fields[3].isdigit():
        raise RtspFailure("rtsp_error", f"SDP has a malformed media line: {lines[0][:60]!r}")
    pt = int(fields[3])
    attrs: dict[str, str] = {}
    for line in lines[1:]:
        if line.startswith("a="):
            name, _, value = line[2:].partition(":")
            attrs.setdefault(name, value)
    encoding = attrs.get("rtpmap", "").removeprefix(f"{pt} ").split("/")[0].upper()
    codec = CODECS.get(encoding) or (STATIC_PAYLOADS.get(pt) if not encoding else None)
    if codec is None:
        raise RtspFailure("rtsp_error", f"codec {encoding or pt!r} is not supported")
    width, height = _dimensions(attrs)
    return Sdp(
        codec=codec, encoding=encoding or "JPEG", payload_type=pt,
        control=_control_url(base_url, attrs.get("control", "")),
        width=width, height=height, fps=_number(attrs.get("framerate")),
        parameter_sets=_parameter_sets(attrs.get("fmtp", "")),
    )  # fmt: skip


def _dimensions(attrs: dict[str, str]) -> tuple[int | None, int | None]:
    if m := re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*", attrs.get("x-dimensions", "")):
        return int(m[1]), int(m[2])
    if m := re.fullmatch(r"\s*(\d+),(\d+),(\d+),(\d+)\s*", attrs.get("cliprect", "")):
        return int(m[4]) - int(m[2]), int(m[3]) - int(m[1])  # top,left,bottom,right
    return None, None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _parameter_sets(fmtp: str) -> tuple[bytes, ...]:
    """SPS/PPS (and VPS) carried in the fmtp line, in decoding order."""
    params = dict(p.strip().partition("=")[::2] for p in fmtp.partition(" ")[2].split(";"))
    values = params.get("sprop-parameter-sets", "").split(",")
    values += [params.get(k, "") for k in ("sprop-vps", "sprop-sps", "sprop-pps")]
    sets = []
    for value in filter(None, (v.strip() for v in values)):
        try:
            sets.append(base64.b64decode(value, validate=True))
        except ValueError:
            continue  # a damaged parameter set: the in-band one may still come
    return tuple(sets)


def _control_url(base: str, control: str) -> str:
    if not control or control == "*":
        return base
    if control.startswith("rtsp://") or control.startswith("rtsps://"):
        return control
    return base.rstrip("/") + "/" + control


def stream_url(target: ProbeTarget, prefer_sub: bool = True) -> tuple[str | None, str]:
    """The URL to look at and which one it is ("sub" or "main")."""
    if prefer_sub and target.rtsp_sub:
        return target.rtsp_sub, "sub"
    return (target.rtsp_main, "main") if target.rtsp_main else (target.rtsp_sub, "sub")


async def run(target: ProbeTarget, settings: Any) -> ProbeResult:
    """DESCRIBE each known RTSP URL; SDP and response time per stream. Both streams of a
    camera are described over one connection (half the connections a fleet opens), and over a
    new one if the camera closed it after the first. No OPTIONS first: a DESCRIBE answered
    says all it would (the server is there and speaks RTSP), one exchange less a check."""
    urls = {k: v for k, v in (("main", target.rtsp_main), ("sub", target.rtsp_sub)) if v}
    if not urls:
        return failed("rtsp", "rtsp_error", "no RTSP URL known for this camera")
    detail: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    client: RtspClient | None = None
    try:
        for name, url in urls.items():
            started = time.monotonic()
            try:
                client, sdp = await _describe(target, url, settings.rtsp.max_response_bytes, client)
            except RtspFailure as exc:
                error = redact(f"{name}: {exc}", target.secrets())
                return ProbeResult(
                    "rtsp", False, frozenset({exc.condition}), metrics, detail, error
                )
            detail[name] = sdp.to_json()
            metrics[f"{name}_response_s"] = time.monotonic() - started
    finally:
        if client is not None:
            await client.close()
    conditions = _mismatch(target, detail.get("main"))
    return ProbeResult("rtsp", True, conditions, metrics, detail)


async def _describe(
    target: ProbeTarget, url: str, max_bytes: int, client: RtspClient | None
) -> tuple[RtspClient, Sdp]:
    """DESCRIBE `url`, on `client`'s connection when it is to the same server as the same
    user, else on a new one; the client used and the SDP."""
    if client is not None and _same_server(client, url, target):
        try:
            return client, await client.describe(url)
        except RtspFailure as exc:
            if exc.condition != "unreachable" and "truncated" not in str(exc):
                raise  # the camera answered: that is its answer
        # the camera closed the connection after the first stream: ask again on a new one
    if client is not None:
        await client.close()
    client = RtspClient(url, target.username, target.password, max_bytes)
    await client.connect()
    return client, await client.describe()


def _same_server(client: RtspClient, url: str, target: ProbeTarget) -> bool:
    clean, user, password = split_credentials(url)
    here, there = urlsplit(client.url), urlsplit(clean)
    same_user = (target.username or user, target.password or password) == (
        client.username, client.password)  # fmt: skip
    return (here.scheme, here.hostname, here.port) == (
        there.scheme, there.hostname, there.port) and same_user  # fmt: skip


def _mismatch(target: ProbeTarget, main: dict[str, Any] | None) -> frozenset[str]:
    """config_mismatch when the main stream's announced codec or size is not the registered one."""
    if not main:
        return frozenset()
    expected = (target.expected_codec, target.expected_width, target.expected_height)
    seen = (main["codec"], main["width"], main["height"])
    differs = any(e and s and e != s for e, s in zip(expected, seen, strict=True))
    return frozenset({"config_mismatch"}) if differs else frozenset()
