"""Simulated ONVIF device: SOAP 1.2 Device and Media services, snapshots, fault control API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from aiohttp import web
from defusedxml import DefusedXmlException

from vp_monitor.sim import onvif_templates as T
from vp_monitor.sim import ptz
from vp_monitor.sim.camera import NETWORK_FAULTS, SimCamera, garbage

log = logging.getLogger(__name__)

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
MAX_BODY_BYTES = 64 * 1024
CREATED_WINDOW_S = 300.0  # accepted distance between a token's Created and the device clock
NONCE_CACHE_SIZE = 1024  # per camera; Created outside the window is refused anyway
HANG_MAX_S = 600.0  # a hung request is dropped after this, whatever the client does
SLOW_CHUNK_BYTES = 64
HTTP_NONCE_TTL_S = 300.0
PRE_AUTH_OPERATIONS = frozenset({"GetSystemDateAndTime"})  # ONVIF access class PRE_AUTH

CAMERA = web.AppKey("camera", SimCamera)
# SOAP requests answered or refused, by action; those carrying credentials apart (tests read
# them through /sim/state to see what a check asked).
SOAP_REQUESTS = web.AppKey("soap_requests", Counter)
SIGNED_REQUESTS = web.AppKey("signed_requests", Counter)
SNAPSHOT = web.AppKey("snapshot", Callable[[], bytes])
HTTP_SECRET = web.AppKey("http_secret", bytes)


class SoapFault(Exception):
    """A SOAP 1.2 fault to send back, with the HTTP status real cameras use for it."""

    def __init__(self, status: int, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.subcodes, self.reason = status, code, subcodes, reason

    def response(self) -> web.Response:
        """The HTTP response carrying this fault."""
        return _soap_response(T.fault(self.code, self.subcodes, self.reason), self.status)


def not_authorized() -> SoapFault:
    """The fault cameras send for missing or wrong credentials."""
    return SoapFault(400, "env:Sender", ("ter:NotAuthorized",), "Sender not Authorized")


def _not_well_formed(reason: str) -> SoapFault:
    return SoapFault(400, "env:Sender", ("ter:WellFormed",), reason)


# --- WS-Security UsernameToken --------------------------------------------------------------


@dataclass(frozen=True)
class UsernameToken:
    """The credentials a SOAP request carries in its WS-Security header."""

    username: str
    password: str
    digest: bool  # PasswordDigest (True) or PasswordText (False)
    nonce: bytes | None
    created: str | None


class NonceCache:
    """Recently seen WS-Security nonces, bounded in count and age, to reject replays."""

    def __init__(self, max_entries: int = NONCE_CACHE_SIZE, ttl_s: float = 2 * CREATED_WINDOW_S):
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._max_entries, self._ttl_s = max_entries, ttl_s

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, nonce: bytes, now: float) -> bool:
        """Record `nonce` seen at monotonic time `now`; False if it was seen before."""
        seen_at = self._seen.get(nonce)
        if seen_at is not None and now - seen_at <= self._ttl_s:
            return False
        self._seen.pop(nonce, None)
        # Entries are in arrival order, so the oldest (and first to expire) come first.
        while self._seen and (
            len(self._seen) >= self._max_entries
            or now - next(iter(self._seen.values())) > self._ttl_s
        ):
            self._seen.popitem(last=False)
        self._seen[nonce] = now
        return True


NONCES = web.AppKey("nonces", NonceCache)


def parse_username_token(envelope: Element) -> UsernameToken | None:
    """The UsernameToken in a SOAP envelope's Security header, None if there is none."""
    token = envelope.find(
        f"{{{T.SOAP_ENV}}}Header/{{{WSSE_NS}}}Security/{{{WSSE_NS}}}UsernameToken"
    )
    if token is None:
        return None
    password = token.find(f"{{{WSSE_NS}}}Password")
    password_type = password.get("Type", "") if password is not None else ""
    nonce_text = token.findtext(f"{{{WSSE_NS}}}Nonce")
    try:
        nonce = base64.b64decode(nonce_text.strip(), validate=True) if nonce_text else None
    except (binascii.Error, ValueError):
        nonce = None
    return UsernameToken(
        username=(token.findtext(f"{{{WSSE_NS}}}Username") or "").strip(),
        password=(password.text or "").strip() if password is not None else "",
        digest=password_type.endswith("#PasswordDigest"),
        nonce=nonce,
        created=(token.findtext(f"{{{WSU_NS}}}Created") or "").strip() or None,
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security PasswordDigest: Base64(SHA1(nonce + created + password))."""
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(raw).decode("ascii")


def _parse_created(created: str) -> float | None:
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def token_rejection(
    token: UsernameToken | None,
    camera: SimCamera,
    nonces: NonceCache,
    window_s: float = CREATED_WINDOW_S,
) -> str | None:
    """Why `token` does not authenticate as the camera's user, None when it does."""
    if token is None:
        return "no credentials"
    if camera.fault == "wrong_credentials":
        return "every credential rejected (wrong_credentials fault)"
    if not hmac.compare_digest(token.username.encode(), camera.username.encode()):
        return "unknown user"
    if not token.digest:
        ok = hmac.compare_digest(token.password.encode(), camera.password.encode())
        return None if ok else "wrong password"
    if token.nonce is None or token.created is None:
        return "digest without a valid Nonce and Created"
    created = _parse_created(token.created)
    if created is None:
        return "malformed Created"
    if abs(created - camera.device_clock()) > window_s:
        return "Created outside the device clock window"
    expected = password_digest(token.nonce, token.created, camera.password)
    if not hmac.compare_digest(token.password.encode(), expected.encode()):
        return "wrong password"
    if not nonces.add(token.nonce, time.monotonic()):
        return "replayed nonce"
    return None


# --- SOAP dispatch --------------------------------------------------------------------------


def device_url(camera: SimCamera) -> str:
    """XAddr of the camera's Device service."""
    return f"http://{camera.host}:{camera.onvif_port}/onvif/device_service"


def media_url(camera: SimCamera) -> str:
    """XAddr of the camera's Media service."""
    return f"http://{camera.host}:{camera.onvif_port}/onvif/media_service"


def ptz_url(camera: SimCamera) -> str | None:
    """XAddr of the camera's PTZ service (None: a fixed camera has none)."""
    if camera.ptz is None:
        return None
    return f"http://{camera.host}:{camera.onvif_port}/onvif/ptz_service"


def camera_scopes(camera: SimCamera) -> list[str]:
    """The ONVIF scopes the camera advertises (GetScopes and WS-Discovery)."""
    base = "onvif://www.onvif.org/"
    return [
        base + "type/video_encoder",
        base + "Profile/Streaming",
        base + "hardware/" + quote(camera.model, safe=""),
        base + "name/" + quote(f"{camera.manufacturer}_{camera.code}", safe=""),
        base + "location/country/france",
    ]


def _mac_address(camera: SimCamera) -> str:
    i = camera.index
    return f"02:00:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"


def _profile_stream(op: Element) -> str:
    token = (op.findtext(f"{{{T.MEDIA_NS}}}ProfileToken") or "").strip()
    for stream, profile_token in T.PROFILE_TOKENS.items():
        if token == profile_token:
            return stream
    raise SoapFault(400, "env:Sender", ("ter:InvalidArgVal", "ter:NoProfile"), "No such profile")


def _stream_uri(camera: SimCamera, op: Element) -> str:
    uri = f"rtsp://{camera.host}:{camera.rtsp_port}/{_profile_stream(op)}"
    return T.media_uri("GetStreamUri", uri)


def _snapshot_uri(camera: SimCamera, op: Element) -> str:
    _profile_stream(op)  # same picture for both profiles, but the token must exist
    uri = f"http://{camera.host}:{camera.onvif_port}/snapshot.jpg"
    return T.media_uri("GetSnapshotUri", uri)


def _head(camera: SimCamera) -> ptz.PtzHead:
    """The PTZ head, answering: a fixed camera has no PTZ service, a `broken` one fails."""
    if camera.ptz is None:
        raise SoapFault(500, "env:Receiver", ("ter:ActionNotSupported",), "No PTZ service")
    if camera.ptz.broken:
        raise SoapFault(500, "env:Receiver", ("ter:Action", "ter:NoPTZNode"), "PTZ node failed")
    return camera.ptz


def _ptz_goto_preset(camera: SimCamera, op: Element) -> str:
    head = _head(camera)
    token = (op.findtext(f"{{{T.PTZ_NS}}}PresetToken") or "").strip()
    try:
        head.goto_preset(token)
    except KeyError:
        raise SoapFault(400, "env:Sender", ("ter:InvalidArgVal", "ter:NoToken"),
                        "No such preset") from None  # fmt: skip
    camera.picture_moved()
    return T.ptz_done("GotoPreset")


def _ptz_goto_home(camera: SimCamera, op: Element) -> str:
    _head(camera).goto_home()
    camera.picture_moved()
    return T.ptz_done("GotoHomePosition")


def _reboot(camera: SimCamera, op: Element) -> str:
    log.info("%s: SystemReboot requested (simulated, nothing restarts)", camera.code)
    return T.system_reboot()


Operation = Callable[[SimCamera, Element], str]
OPERATIONS: dict[str, Operation] = {
    f"{{{T.DEVICE_NS}}}GetSystemDateAndTime": lambda c, op: T.system_date_and_time(
        c.device_clock()
    ),
    f"{{{T.DEVICE_NS}}}GetDeviceInformation": lambda c, op: T.device_information(c),
    f"{{{T.DEVICE_NS}}}GetCapabilities": lambda c, op: T.capabilities(
        device_url(c), media_url(c), ptz_url(c)
    ),
    f"{{{T.DEVICE_NS}}}GetServices": lambda c, op: T.services(
        device_url(c), media_url(c), ptz_url(c)
    ),
    f"{{{T.DEVICE_NS}}}GetNetworkInterfaces": lambda c, op: T.network_interfaces(
        c, _mac_address(c)
    ),
    f"{{{T.DEVICE_NS}}}GetScopes": lambda c, op: T.scopes(camera_scopes(c)),
    f"{{{T.DEVICE_NS}}}SystemReboot": _reboot,
    f"{{{T.MEDIA_NS}}}GetProfiles": lambda c, op: T.profiles(c),
    f"{{{T.MEDIA_NS}}}GetStreamUri": _stream_uri,
    f"{{{T.MEDIA_NS}}}GetSnapshotUri": _snapshot_uri,
    f"{{{T.PTZ_NS}}}GetPresets": lambda c, op: T.ptz_presets(_head(c)),
    f"{{{T.PTZ_NS}}}GetStatus": lambda c, op: T.ptz_status(_head(c), c.device_clock()),
    f"{{{T.PTZ_NS}}}GotoPreset": _ptz_goto_preset,
    f"{{{T.PTZ_NS}}}GotoHomePosition": _ptz_goto_home,
}


def parse_envelope(body: bytes) -> tuple[Element, Element]:
    """The SOAP 1.2 envelope and its operation element; DTDs and entities are refused."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise _not_well_formed("DTDs and entity declarations are not accepted") from exc
    except ParseError as exc:
        raise _not_well_formed("Request is not well-formed XML") from exc
    if root.tag != f"{{{T.SOAP_ENV}}}Envelope":
        if root.tag.endswith("}Envelope"):
            raise SoapFault(400, "env:VersionMismatch", (), "Only SOAP 1.2 is supported")
        raise _not_well_formed("Request is not a SOAP envelope")
    body_el = root.find(f"{{{T.SOAP_ENV}}}Body")
    if body_el is None or len(body_el) == 0:
        raise _not_well_formed("SOAP Body is missing or empty")
    return root, body_el[0]


def _soap_response(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text, status=status, content_type="application/soap+xml", charset="utf-8"
    )


async def soap_endpoint(request: web.Request) -> web.Response:
    """Answer one SOAP request to the Device or Media service."""
    camera = request.app[CAMERA]
    try:
        root, op = parse_envelope(await request.read())
        operation = OPERATIONS.get(op.tag)
        name = op.tag.rpartition("}")[2]
        token = parse_username_token(root)
        request.app[SOAP_REQUESTS][name] += 1
        if token is not None:
            request.app[SIGNED_REQUESTS][name] += 1
        if operation is None:
            raise SoapFault(
                500, "env:Receiver", ("ter:ActionNotSupported",), "Optional Action Not Implemented"
            )
        if name not in PRE_AUTH_OPERATIONS:
            reason = token_rejection(token, camera, request.app[NONCES])
            if reason is not None:
                log.debug("%s: %s rejected: %s", camera.code, name, reason)
                raise not_authorized()
        return _soap_response(T.envelope(operation(camera, op)))
    except SoapFault as fault:
        return fault.response()


# --- HTTP snapshot with Digest or Basic authentication ----------------------------------------


def _http_nonce(secret: bytes, now: float) -> str:
    stamp = str(int(now))
    mac = hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{stamp}.{mac}"


def _http_nonce_fresh(secret: bytes, nonce: str, now: float) -> bool:
    stamp, _, _mac = nonce.partition(".")
    if not stamp.isdigit() or not hmac.compare_digest(nonce, _http_nonce(secret, int(stamp))):
        return False
    return 0 <= now - int(stamp) <= HTTP_NONCE_TTL_S


_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _digest_ok(request: web.Request, camera: SimCamera, fields: dict[str, str]) -> bool:
    realm = _realm(camera)
    if fields.get("username") != camera.username or fields.get("realm") != realm:
        return False
    if not _http_nonce_fresh(request.app[HTTP_SECRET], fields.get("nonce", ""), time.time()):
        return False
    if fields.get("uri") != request.raw_path or fields.get("algorithm", "MD5").upper() != "MD5":
        return False
    ha1 = _md5(f"{camera.username}:{realm}:{camera.password}")
    ha2 = _md5(f"{request.method}:{fields['uri']}")
    if fields.get("qop") == "auth":
        parts = (fields["nonce"], fields.get("nc", ""), fields.get("cnonce", ""), "auth")
        expected = _md5(":".join((ha1, *parts, ha2)))
    else:
        expected = _md5(f"{ha1}:{fields['nonce']}:{ha2}")
    return hmac.compare_digest(fields.get("response", ""), expected)


def _basic_ok(camera: SimCamera, credentials: str) -> bool:
    try:
        user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        return False
    expected = f"{camera.username}:{camera.password}".encode()
    return hmac.compare_digest(f"{user}:{password}".encode(), expected)


def _realm(camera: SimCamera) -> str:
    return f"{camera.manufacturer} {camera.code}"


def http_authorized(request: web.Request, camera: SimCamera) -> bool:
    """Whether the request's HTTP Digest or Basic credentials are the camera's."""
    if camera.fault == "wrong_credentials":
        return False
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        return _basic_ok(camera, credentials.strip())
    if scheme.lower() == "digest":
        fields = {m[1].lower(): m[2] or m[3] for m in _AUTH_PARAM.finditer(credentials)}
        return _digest_ok(request, camera, fields)
    return False


async def snapshot_endpoint(request: web.Request) -> web.Response:
    """The current picture as JPEG, behind HTTP Digest (or Basic) authentication."""
    camera = request.app[CAMERA]
    if not http_authorized(request, camera):
        nonce = _http_nonce(request.app[HTTP_SECRET], time.time())
        challenge = f'Digest realm="{_realm(camera)}", qop="auth", algorithm=MD5, nonce="{nonce}"'
        return web.Response(
            status=401, text="401 Unauthorized", headers={"WWW-Authenticate": challenge}
        )
    return web.Response(body=request.app[SNAPSHOT](), content_type="image/jpeg")


# --- Control API ----------------------------------------------------------------------------


def camera_state(camera: SimCamera) -> dict[str, object]:
    """The camera's identity and fault as the control API reports them."""
    clock = datetime.fromtimestamp(camera.device_clock(), UTC)
    return {
        "code": camera.code,
        "fault": camera.fault,
        "fault_params": camera.fault_params,
        "serial": camera.effective_serial,
        "firmware": camera.effective_firmware,
        "device_clock": clock.isoformat(timespec="seconds"),
    }


def _control_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _from_loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def post_fault(request: web.Request) -> web.Response:
    """Switch the camera into the fault named in the JSON body ("none" clears)."""
    if not _from_loopback(request):
        return _control_error(403, "control API accepts loopback clients only")
    camera = request.app[CAMERA]
    try:
        data = await request.json()
    except ValueError:
        return _control_error(400, "body must be a JSON object")
    if not isinstance(data, dict) or not isinstance(data.get("fault"), str):
        return _control_error(400, 'body must be a JSON object with a "fault" string')
    params = {k: v for k, v in data.items() if k != "fault"}
    bad = [k for k, v in params.items() if not isinstance(v, int | float | str | bool)]
    numbers = ("offset_s", "delay_s", "byte_delay_s", "chunk_bytes")
    bad += [k for k in numbers if k in params and not _is_number(params[k])]
    if bad:
        return _control_error(400, f"invalid fault parameter(s): {', '.join(sorted(set(bad)))}")
    try:
        camera.set_fault(data["fault"], **params)
    except ValueError as exc:
        return _control_error(400, str(exc))
    log.info("%s: fault set to %s %s", camera.code, camera.fault, params or "")
    return web.json_response(camera_state(camera))


PATROL = web.AppKey("patrol", dict)  # {"task": the patrol tour's task, when one runs}


async def post_ptz(request: web.Request) -> web.Response:
    """Move a PTZ camera: {"preset": TOKEN}, {"home": true}, {"position": [pan, tilt, zoom]},
    {"patrol": true, "dwell_s": S} or {"patrol": false}, {"broken": true|false} (its PTZ
    service answers faults). Answers the head's state."""
    if not _from_loopback(request):
        return _control_error(403, "control API accepts loopback clients only")
    camera = request.app[CAMERA]
    if camera.ptz is None:
        return _control_error(409, f"{camera.code} is not a PTZ camera")
    try:
        data = await request.json()
    except ValueError:
        return _control_error(400, "body must be a JSON object")
    if not isinstance(data, dict) or not data:
        return _control_error(400, "body must be a JSON object naming a move")
    problem = _ptz_command(request.app, camera, data)
    if problem:
        return _control_error(400, problem)
    return web.json_response(ptz_state(camera))


def _ptz_command(app: web.Application, camera: SimCamera, data: dict) -> str | None:
    """Carry out one control command on the head; what is wrong with it, if anything."""
    head = camera.ptz
    assert head is not None
    if "broken" in data:
        head.broken = bool(data["broken"])
    if "patrol" in data:
        _stop_patrol(app, head)
        if data["patrol"]:
            dwell = data.get("dwell_s", 10.0)
            if not _is_number(dwell) or dwell <= 0:
                return "dwell_s must be a positive number"
            head.patrol_dwell_s = float(dwell)
            app[PATROL]["task"] = asyncio.create_task(ptz.patrol(head, camera.picture_moved))
    if "preset" in data:
        try:
            head.goto_preset(str(data["preset"]))
        except KeyError:
            return f"no preset {data['preset']!r}"
    if data.get("home"):
        head.goto_home()
    if "position" in data:
        position = data["position"]
        if not (isinstance(position, list) and len(position) == 3
                and all(_is_number(v) for v in position)):  # fmt: skip
            return "position must be [pan, tilt, zoom]"
        head.move(tuple(float(v) for v in position))
    if head.patrol_dwell_s is None or "patrol" not in data:
        camera.picture_moved()
    return None


def _stop_patrol(app: web.Application, head: ptz.PtzHead) -> None:
    head.patrol_dwell_s = None
    task = app[PATROL].pop("task", None)
    if task is not None:
        task.cancel()


async def _stop_patrol_at_cleanup(app: web.Application) -> None:
    task = app[PATROL].pop("task", None)
    if task is not None:
        task.cancel()


def ptz_state(camera: SimCamera) -> dict[str, object]:
    """The head as the control API reports it: position, preset there, patrol, home."""
    head = camera.ptz
    if head is None:
        return {}
    at = [p.token for p in head.presets if p.position == head.position]
    return {"position": list(head.position), "preset": at[0] if at else None, "home": head.home,
            "patrol_dwell_s": head.patrol_dwell_s, "broken": head.broken}  # fmt: skip


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def get_state(request: web.Request) -> web.Response:
    """The camera's code, fault, serial and firmware, and the SOAP requests it got, as JSON."""
    if not _from_loopback(request):
        return _control_error(403, "control API accepts loopback clients only")
    counts = {"soap_requests": dict(request.app[SOAP_REQUESTS]),
              "signed_requests": dict(request.app[SIGNED_REQUESTS])}  # fmt: skip
    camera = request.app[CAMERA]
    return web.json_response(camera_state(camera) | counts | {"ptz": ptz_state(camera)})


# --- Network faults -------------------------------------------------------------------------


def _drop_connection(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing reaches the client: aiohttp ignores writes to an aborted connection.
    return web.Response(status=503)


def _send_garbage(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.write(garbage())  # not HTTP: the client's parser must give up
        transport.close()
    return web.Response(status=503)  # never sent: the connection is closed


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _hold(request: web.Request, camera: SimCamera) -> None:
    deadline = time.monotonic() + HANG_MAX_S
    while camera.fault == "hang" and time.monotonic() < deadline and not _client_gone(request):
        await asyncio.sleep(0.2)


async def _answer_slowly(
    request: web.Request, response: web.StreamResponse, delay_s: float, chunk_bytes: int
) -> web.StreamResponse:
    body = response.body if isinstance(response, web.Response) else b""
    body = body if isinstance(body, bytes) else b""
    await asyncio.sleep(delay_s)
    slow = web.StreamResponse(status=response.status, reason=response.reason)
    slow.headers.update({k: v for k, v in response.headers.items() if k != "Content-Length"})
    slow.content_length = len(body)
    try:
        await slow.prepare(request)
        for start in range(0, len(body), chunk_bytes):
            await slow.write(body[start : start + chunk_bytes])
            await asyncio.sleep(delay_s)
        await slow.write_eof()
    except ConnectionError:
        pass  # the client gave up, as it should
    return slow


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def network_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Play network faults on every path but /sim/: refuse, hang, garbage, slow (`delay_s`
    before each piece of `chunk_bytes`)."""
    camera = request.app[CAMERA]
    fault = camera.fault
    if fault not in NETWORK_FAULTS or request.path.startswith("/sim/"):
        return await handler(request)
    if fault == "refuse":
        return _drop_connection(request)
    if fault == "garbage":
        return _send_garbage(request)
    if fault == "hang":
        await _hold(request, camera)
        if camera.fault == "hang" or _client_gone(request):
            return _drop_connection(request)
        return await handler(request)
    delay_s = float(camera.fault_params.get("delay_s", 0.5))
    chunk_bytes = max(1, int(camera.fault_params.get("chunk_bytes", SLOW_CHUNK_BYTES)))
    return await _answer_slowly(request, await handler(request), delay_s, chunk_bytes)


def create_onvif_app(camera: SimCamera, snapshot: Callable[[], bytes]) -> web.Application:
    """The camera's HTTP server: ONVIF Device/Media services, /snapshot.jpg and /sim/ control."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[network_faults])
    app[CAMERA] = camera
    app[SNAPSHOT] = snapshot
    app[NONCES] = NonceCache()
    app[SOAP_REQUESTS], app[SIGNED_REQUESTS] = Counter(), Counter()
    app[HTTP_SECRET] = secrets.token_bytes(32)
    app.router.add_post("/onvif/device_service", soap_endpoint)
    app.router.add_post("/onvif/media_service", soap_endpoint)
    app.router.add_post("/onvif/ptz_service", soap_endpoint)
    app.router.add_get("/snapshot.jpg", snapshot_endpoint)
    app.router.add_post("/sim/fault", post_fault)
    app.router.add_get("/sim/state", get_state)
    app.router.add_post("/sim/ptz", post_ptz)
    app[PATROL] = {}
    app.on_cleanup.append(_stop_patrol_at_cleanup)
    return app
