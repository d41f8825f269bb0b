"""ONVIF probes: the camera clock alone (`clock`, unauthenticated: the frequent checks), and
the full read (`onvif`: clock, identity, profiles and stream URIs: the daily inventory, and a
check where a change is suspected).

The full read is one wrapper around onvif-zeep-async. The library keeps one parsed WSDL per
process (its module-level document cache); we keep one `ONVIFCamera` per camera in a bounded
LRU so the services built for a camera are reused from one check to the next. The clock read
is a fixed SOAP request of our own (see `read_clock`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

# Quirk: onvif.client calls logging.basicConfig(level=INFO) when imported, which would take the
# logging configuration away from the application; what it adds is removed again below.
_ROOT = (list(logging.root.handlers), logging.root.level)

import aiohttp  # noqa: E402
import defusedxml.ElementTree as SafeET  # noqa: E402
from defusedxml import DefusedXmlException  # noqa: E402
from onvif import ONVIFCamera  # noqa: E402
from onvif.client import AsyncTransportProtocolErrorHandler, ONVIFService  # noqa: E402
from onvif.exceptions import ONVIFError  # noqa: E402
from onvif.util import is_auth_error, stringify_onvif_error  # noqa: E402
from zeep.exceptions import (  # noqa: E402
    DTDForbidden,
    EntitiesForbidden,
    Fault,
    TransportError,
    XMLSyntaxError,
)
from zeep.exceptions import Error as ZeepError  # noqa: E402

from vp_monitor.probes.base import ProbeResult, ProbeTarget, redact  # noqa: E402
from vp_monitor.probes.rtsp import split_credentials  # noqa: E402

for _handler in set(logging.root.handlers) - set(_ROOT[0]):
    logging.root.removeHandler(_handler)
    logging.root.setLevel(_ROOT[1])

log = logging.getLogger(__name__)
# The transport logs whole SOAP messages at DEBUG, WS-Security digests included: never show them.
logging.getLogger("onvif.zeep_aiohttp").setLevel(logging.INFO)

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
CODECS = {"H264": "h264", "H265": "h265", "HEVC": "h265", "JPEG": "mjpeg"}

# The camera cannot be reached at all: no connection, connection dropped, no answer in time.
UNREACHABLE_ERRORS = (aiohttp.ClientConnectionError, TimeoutError, ConnectionError, OSError)
# The camera answered, but not with a SOAP reply we can use (fault, bad HTTP status, bad XML,
# a DTD or entities, a reply over the size limit): the device is there but misbehaves.
PROTOCOL_ERRORS = (Fault, TransportError, XMLSyntaxError, DTDForbidden, EntitiesForbidden,
                   ZeepError, ONVIFError, aiohttp.ClientResponseError, ValueError,
                   AttributeError, TypeError, KeyError)  # fmt: skip


class ReplyTooLarge(ZeepError):
    """The SOAP reply is larger than we accept."""


class CappedTransport(AsyncTransportProtocolErrorHandler):
    """The library's transport, reading at most `max_bytes` of a reply instead of everything."""

    max_bytes = 1_000_000

    async def _post_internal(self, address: str, message: str | bytes, headers: dict[str, str]):
        headers = dict(headers or {})
        headers.setdefault("Content-Type", 'application/soap+xml; charset="utf-8"')
        data = message.encode("utf-8") if isinstance(message, str) else message
        response = await self.session.post(
            address, data=data, headers=headers, timeout=self._client_timeout
        )
        content = await read_capped(response, self.max_bytes)
        response.release()
        return response, content


async def read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body of a reply, at most `max_bytes` (ReplyTooLarge beyond: connection dropped)."""
    try:
        if (response.content_length or 0) > max_bytes:
            raise ReplyTooLarge(f"reply of {response.content_length} bytes over the limit")
        content = bytearray()
        async for chunk in response.content.iter_chunked(65_536):
            content += chunk
            if len(content) > max_bytes:
                raise ReplyTooLarge(f"reply over {max_bytes} bytes, cut off")
    except BaseException:
        response.close()  # drop the connection rather than drain a flood
        raise
    return bytes(content)


def _cap(service: ONVIFService, max_bytes: int) -> ONVIFService:
    """Give a freshly built service our size-capped transport (same session)."""
    if isinstance(service.transport, CappedTransport):
        return service
    transport = CappedTransport(session=service._session, verify_ssl=False)
    transport.max_bytes = max_bytes
    transport.cache = service.transport.cache
    service.transport = transport
    for client in (service.zeep_client, service.zeep_client_authless):
        if client is not None:
            client.transport = transport
    return service


@dataclass(frozen=True)
class StreamProfile:
    """One media profile: encoding, size, rate and its RTSP URI (without credentials)."""

    token: str
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    rtsp_uri: str | None


@dataclass(frozen=True)
class DeviceInventory:
    """What a camera says about itself, for registration."""

    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    profiles: tuple[StreamProfile, ...] = field(default=())
    clock_offset_s: float | None = None

    @property
    def rtsp_main(self) -> str | None:
        return self.profiles[0].rtsp_uri if self.profiles else None

    @property
    def rtsp_sub(self) -> str | None:
        return self.profiles[1].rtsp_uri if len(self.profiles) > 1 else None


class OnvifFailure(Exception):
    """The ONVIF exchange failed; `condition` is unreachable, auth_failed or onvif_error."""

    def __init__(self, condition: str, reason: str) -> None:
        super().__init__(reason)
        self.condition = condition


def classify(exc: BaseException, password: str | None = None) -> tuple[str, str]:
    """The condition and a short reason for an exception raised while talking to a camera."""
    condition, reason = _classify(exc)
    if condition == "auth_failed" and not password:
        reason += "; no password was given"
    return condition, reason


def _classify(exc: BaseException) -> tuple[str, str]:
    root = exc.__cause__ if isinstance(exc, ONVIFError) and exc.__cause__ else exc
    if isinstance(root, Fault):
        if is_auth_error(root):
            return "auth_failed", "credentials refused (ter:NotAuthorized)"
        return "onvif_error", f"SOAP fault: {stringify_onvif_error(root)}"
    if isinstance(root, ReplyTooLarge):
        return "onvif_error", str(root)
    if isinstance(root, (DTDForbidden, EntitiesForbidden)):
        return "onvif_error", "reply carries a DTD or entity declarations (refused)"
    if isinstance(root, TransportError):  # its message embeds the whole reply: keep the status
        if root.status_code == 401:
            return "auth_failed", "HTTP 401 Unauthorized"
        return "onvif_error", f"reply not usable (HTTP {root.status_code}, not SOAP/XML)"
    if isinstance(root, XMLSyntaxError):
        return "onvif_error", "reply is not well-formed XML"
    if isinstance(root, UNREACHABLE_ERRORS):
        return "unreachable", f"{type(root).__name__}: {root}" if str(root) else "no answer"
    return "onvif_error", f"unusable reply ({type(root).__name__}: {root})"


# -- one client per camera, reused ---------------------------------------------------------------
class ClientCache:
    """Bounded LRU of ONVIFCamera clients keyed by camera and credentials."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._clients: OrderedDict[tuple, ONVIFCamera] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def key(target: ProbeTarget) -> tuple:
        secret = hashlib.sha256((target.password or "").encode()).hexdigest()[:16]
        return (target.camera, target.onvif_host, target.onvif_port, target.username, secret)

    def get(self, target: ProbeTarget) -> ONVIFCamera | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # sessions belong to one event loop: start afresh
            self._clients.clear()
            self._loop = loop
        key = self.key(target)
        client = self._clients.pop(key, None)
        if client is not None:
            self._clients[key] = client
        return client

    async def put(self, target: ProbeTarget, client: ONVIFCamera) -> None:
        self._clients[self.key(target)] = client
        while len(self._clients) > self.size:
            _, oldest = self._clients.popitem(last=False)
            await _close(oldest)

    async def drop(self, target: ProbeTarget) -> None:
        client = self._clients.pop(self.key(target), None)
        if client is not None:
            await _close(client)

    async def clear(self) -> None:
        """Close every client."""
        while self._clients:
            await _close(self._clients.popitem()[1])

    def __len__(self) -> int:
        return len(self._clients)


async def _close(client: ONVIFCamera) -> None:
    """Close a client's services and sessions, never waiting long on a dead camera."""
    try:
        async with asyncio.timeout(2):
            await client.close()
    except Exception as exc:  # closing a broken client must not fail the check
        log.debug("closing ONVIF client: %s", type(exc).__name__)


CLIENTS = ClientCache(256)


async def close_clients() -> None:
    """Close every cached ONVIF client and the clock reads' session (at shutdown, and between
    tests)."""
    await CLIENTS.clear()
    await close_clock_session()


def _new_client(host: str, port: int, user: str | None, password: str | None) -> ONVIFCamera:
    # adjust_time is ours to do: we read the clock on every check and keep the offset.
    return ONVIFCamera(host, port, user, password, adjust_time=False)


def _set_offset(client: ONVIFCamera, offset_s: float | None) -> None:
    """Sign WS-Security timestamps in the camera's time (cameras refuse skewed requests)."""
    if offset_s is None:
        return
    client.dt_diff = dt.timedelta(seconds=offset_s)
    for service in client.services.values():
        if service.zeep_client is not None and service.zeep_client.wsse is not None:
            service.zeep_client.wsse.dt_diff = client.dt_diff


async def _service(client: ONVIFCamera, name: str, max_bytes: int) -> ONVIFService:
    create = (
        client.create_devicemgmt_service if name == "devicemgmt" else client.create_media_service
    )
    return _cap(await create(), max_bytes)


async def _clock_offset(devicemgmt: ONVIFService, known_s: float | None) -> float | None:
    """Camera clock minus ours, in seconds (None if the camera gives no UTC time)."""
    try:
        reply = await devicemgmt.authless_GetSystemDateAndTime()
    except Fault:
        # Quirk: some firmwares want credentials even for the clock; sign with the last
        # known offset so a skewed camera still accepts the request.
        if known_s is not None:
            devicemgmt.zeep_client.wsse.dt_diff = dt.timedelta(seconds=known_s)
        reply = await devicemgmt.GetSystemDateAndTime()
    utc = getattr(reply, "UTCDateTime", None)
    if utc is None or utc.Date is None or utc.Time is None:
        return None
    d, t = utc.Date, utc.Time
    camera = dt.datetime(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, tzinfo=dt.UTC)
    return (camera - dt.datetime.now(dt.UTC)).total_seconds()


async def _connect(
    client: ONVIFCamera, max_bytes: int, fresh: bool, known_s: float | None
) -> float | None:
    """Read the clock, then (first time) the service addresses; returns the clock offset."""
    devicemgmt = await _service(client, "devicemgmt", max_bytes)
    offset = await _clock_offset(devicemgmt, known_s)
    _set_offset(client, offset if offset is not None else known_s)
    if fresh:
        await client.update_xaddrs()  # resets dt_diff: set it again
        _set_offset(client, offset if offset is not None else known_s)
    return offset


async def _profiles(client: ONVIFCamera, max_bytes: int) -> tuple[StreamProfile, ...]:
    media = await _service(client, "media", max_bytes)
    _set_offset(client, client.dt_diff.total_seconds() if client.dt_diff else None)
    profiles = []
    for profile in (await media.GetProfiles() or [])[:4]:
        encoder = getattr(profile, "VideoEncoderConfiguration", None)
        request = {"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token}
        uri = (await media.GetStreamUri(request)).Uri
        profiles.append(_profile(profile.token, encoder, uri))
    return tuple(profiles)


def _profile(token: str, encoder: Any, uri: str | None) -> StreamProfile:
    resolution = getattr(encoder, "Resolution", None)
    rate = getattr(encoder, "RateControl", None)
    encoding = getattr(encoder, "Encoding", None)
    return StreamProfile(
        token=str(token), codec=CODECS.get(str(encoding).upper()) if encoding else None,
        width=getattr(resolution, "Width", None), height=getattr(resolution, "Height", None),
        fps=getattr(rate, "FrameRateLimit", None),
        rtsp_uri=split_credentials(uri)[0] if uri else None,
    )  # fmt: skip


async def _read(
    client: ONVIFCamera, max_bytes: int, fresh: bool, known_s: float | None = None
) -> DeviceInventory:
    offset = await _connect(client, max_bytes, fresh, known_s)
    devicemgmt = await _service(client, "devicemgmt", max_bytes)
    info = await devicemgmt.GetDeviceInformation()
    profiles = await _profiles(client, max_bytes)
    return DeviceInventory(
        manufacturer=info.Manufacturer, model=info.Model, serial=info.SerialNumber,
        firmware=info.FirmwareVersion, profiles=profiles, clock_offset_s=offset,
    )  # fmt: skip


async def inventory(
    host: str, port: int, user: str | None, password: str | None, timeout_s: float = 10.0,
    max_bytes: int = 1_000_000,
) -> DeviceInventory:  # fmt: skip
    """Identity, profiles and stream URIs of a camera, for registration; raises OnvifFailure."""
    client = _new_client(host, port, user, password)
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(client, max_bytes, fresh=True)
    except PROTOCOL_ERRORS + UNREACHABLE_ERRORS as exc:
        condition, reason = classify(exc, password)
        raise OnvifFailure(condition, redact(reason, (password,))) from None
    finally:
        await _close(client)


# -- the probe -----------------------------------------------------------------------------------
async def run(target: ProbeTarget, settings: Any) -> ProbeResult:
    """Clock, identity and profiles of the camera, compared with what the registry expects."""
    if not target.onvif_host:
        return ProbeResult("onvif", False, error="no ONVIF address known for this camera")
    conf = settings.onvif
    CLIENTS.size = conf.clients
    client = CLIENTS.get(target)
    fresh = client is None
    if client is None:
        client = _new_client(target.onvif_host, target.onvif_port or 80, target.username,
                             target.password)  # fmt: skip
    try:
        found = await _read(client, conf.max_reply_bytes, fresh, target.clock_offset_s)
    except PROTOCOL_ERRORS + UNREACHABLE_ERRORS as exc:
        await (CLIENTS.drop(target) if not fresh else _close(client))
        condition, reason = classify(exc, target.password)
        log.info("%s: ONVIF %s: %s", target.camera, condition, redact(reason, target.secrets()))
        return ProbeResult("onvif", False, frozenset({condition}),
                           error=redact(reason, target.secrets()))  # fmt: skip
    except BaseException:  # cancelled by the runner's deadline: do not leak the sockets
        await (CLIENTS.drop(target) if not fresh else _close(client))
        raise
    if fresh:
        await CLIENTS.put(target, client)
    return _result(target, found, conf)


def _result(target: ProbeTarget, found: DeviceInventory, conf: Any) -> ProbeResult:
    conditions, metrics = set(), {}
    if found.clock_offset_s is not None:
        metrics["clock_offset_s"] = found.clock_offset_s
        if abs(found.clock_offset_s) > conf.max_clock_drift_s:
            conditions.add("clock_drift")
    if target.expected_serial and found.serial != target.expected_serial:
        conditions.add("device_replaced")
    if target.expected_firmware and found.firmware != target.expected_firmware:
        conditions.add("firmware_changed")
    mismatches = _mismatches(target, found)
    if mismatches:
        conditions.add("config_mismatch")
    detail = {
        "manufacturer": found.manufacturer, "model": found.model, "serial": found.serial,
        "firmware": found.firmware, "mismatches": mismatches,
        "profiles": [p.__dict__ for p in found.profiles],
    }  # fmt: skip
    return ProbeResult("onvif", True, frozenset(conditions), metrics, detail)


def _mismatches(target: ProbeTarget, found: DeviceInventory) -> list[str]:
    """What the camera announces that differs from the registry (URLs, codec, size, rate)."""
    out = []
    for name, registered, announced in (
        ("rtsp_main", target.rtsp_main, found.rtsp_main),
        ("rtsp_sub", target.rtsp_sub, found.rtsp_sub),
    ):
        if registered and announced and split_credentials(registered)[0] != announced:
            out.append(f"{name}: camera announces {announced}")
    main = found.profiles[0] if found.profiles else None
    if main is None:
        return out
    for name, expected, seen in (
        ("codec", target.expected_codec, main.codec),
        ("width", target.expected_width, main.width),
        ("height", target.expected_height, main.height),
        ("fps", target.expected_fps, main.fps),
    ):
        if expected and seen and expected != seen:
            out.append(f"{name}: expected {expected}, camera has {seen}")
    return out


# -- the clock alone -----------------------------------------------------------------------------
# Written ourselves rather than through zeep (README, "written ourselves"): the clock is read on
# every camera at every reachability and stream check, and through zeep each read built or
# looked up a WSDL-typed client per camera, serialised the request through it and parsed the
# reply into typed objects, the monitor's largest CPU cost per check (docs/benchmarks.md, fleet
# benchmark). GetSystemDateAndTime is ONVIF's one pre-authentication request: a fixed envelope,
# one POST and six integers read from the reply with defusedxml (no DTD, no entities, size
# capped) is all it needs, and it sends no credentials.
CLOCK_REQUEST = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    b"</s:Body></s:Envelope>"
)
CLOCK_HEADERS = {"Content-Type": 'application/soap+xml; charset="utf-8"'}
_DATE_FIELDS, _TIME_FIELDS = ("Year", "Month", "Day"), ("Hour", "Minute", "Second")


class ClockNeedsCredentials(Exception):
    """The camera refuses to give its clock without credentials (a firmware quirk)."""


class _ClockSession:
    """One HTTP client session for every clock read of an event loop (no per-camera client);
    connections are not kept between checks (a fleet would hold one idle socket per camera)."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self.session is None or self.session.closed or self.loop is not loop:
            # A session belongs to one event loop; that of an ended loop holds no connection.
            self.loop = loop
            connector = aiohttp.TCPConnector(force_close=True, limit=0)
            self.session = aiohttp.ClientSession(
                connector=connector, skip_auto_headers=["User-Agent"]
            )
        return self.session

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            if self.loop is asyncio.get_running_loop():
                await self.session.close()
        self.session = self.loop = None


CLOCK_SESSION = _ClockSession()


def parse_clock(body: bytes) -> float | None:
    """Camera clock minus ours (seconds) from a GetSystemDateAndTime reply; None without a UTC
    time. Raises ClockNeedsCredentials, ReplyRefused (a fault, or not SOAP), ParseError."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise ReplyRefused("reply carries a DTD or entity declarations (refused)") from None
    fault = root.find(".//{*}Fault")
    if fault is not None:
        codes = [(el.text or "").strip() for el in fault.iter() if el.tag.endswith("Value")]
        if any(code.endswith("NotAuthorized") for code in codes):
            raise ClockNeedsCredentials
        reason = " ".join((fault.findtext(".//{*}Text") or "").split())[:100]
        raise ReplyRefused(f"SOAP fault: {reason or ', '.join(codes) or 'no reason given'}")
    utc = root.find(".//{*}UTCDateTime")
    if utc is None:
        if root.find(".//{*}SystemDateAndTime") is None:
            raise ReplyRefused("reply is not a GetSystemDateAndTime answer")
        return None
    values = [utc.findtext(f"{{*}}Date/{{*}}{name}") for name in _DATE_FIELDS]
    values += [utc.findtext(f"{{*}}Time/{{*}}{name}") for name in _TIME_FIELDS]
    try:
        camera = dt.datetime(*(int(v) for v in values), tzinfo=dt.UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReplyRefused("reply has no valid UTC date and time") from None
    return (camera - dt.datetime.now(dt.UTC)).total_seconds()


class ReplyRefused(Exception):
    """The camera answered, but not with a usable reply (onvif_error)."""


async def read_clock(target: ProbeTarget, settings: Any) -> ProbeResult:
    """The camera clock's offset, unauthenticated; clock_drift beyond the allowed drift."""
    if not target.onvif_host:
        return ProbeResult("clock", False, error="no ONVIF address known for this camera")
    conf = settings.onvif
    url = f"http://{_host(target.onvif_host)}:{target.onvif_port or 80}/onvif/device_service"
    try:
        async with CLOCK_SESSION.get().post(
            url, data=CLOCK_REQUEST, headers=CLOCK_HEADERS, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=conf.timeout_s),
        ) as response:  # fmt: skip
            body = await read_capped(response, conf.max_reply_bytes)
            status = response.status
        try:
            offset = parse_clock(body)
        except ParseError:
            if status == 401:
                raise ClockNeedsCredentials from None
            raise ReplyRefused(f"unusable reply (HTTP {status}, not SOAP/XML)") from None
    except ClockNeedsCredentials:
        # Quirk: some firmwares want credentials even for the clock. The camera answered (it is
        # reachable); its clock is left to the full read, which signs requests.
        return ProbeResult("clock", False, error="the camera gives its clock only with credentials")
    except (ReplyRefused, ReplyTooLarge) as exc:
        reason = redact(str(exc), target.secrets())
        log.info("%s: ONVIF clock onvif_error: %s", target.camera, reason)
        return ProbeResult("clock", False, frozenset({"onvif_error"}), error=reason)
    except UNREACHABLE_ERRORS as exc:
        reason = redact(f"{type(exc).__name__}: {exc}" if str(exc) else "no answer",
                        target.secrets())  # fmt: skip
        return ProbeResult("clock", False, frozenset({"unreachable"}), error=reason)
    if offset is None:
        return ProbeResult("clock", True, detail={"clock": "no UTC time given"})
    drift = abs(offset) > conf.max_clock_drift_s
    return ProbeResult("clock", True, frozenset({"clock_drift"} if drift else ()),
                       {"offset_s": offset})  # fmt: skip


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def close_clock_session() -> None:
    """Close the clock reads' HTTP session (at shutdown, and between tests)."""
    await CLOCK_SESSION.close()
