"""Technician actions: test a camera before saving it and add it from that test, test a
registered camera, approve a reference image; and the pictures (a camera's frame now, its
reference, an incident's evidence) as JPEG, each addressed by an id, never by a file path.

A test's result is kept in memory for a while (bounded in number and age, per web process) so
that its frame can be fetched and the camera added from it without asking the camera again
and without the client sending the password twice. The password is kept encrypted with the
registry's key, and only the technician who ran the test may use it. Behind several web
processes, the add must reach the process that ran the test (sticky sessions).
"""

from __future__ import annotations

import secrets
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from vp_monitor.probes.tiers import TIERS
from vp_monitor.redaction import redact, redact_url
from vp_monitor.registry.schemas import CameraInput, CameraTestInput, TestedCameraInput
from vp_monitor.registry.service import RegistryError
from vp_monitor.service import commands, views
from vp_monitor.texts import Texts
from vp_monitor.web.api.monitoring import (
    ConditionOut,
    MetricOut,
    caller_texts,
    conditions_out,
    links_by_id,
    metrics_out,
)
from vp_monitor.web.call import Call
from vp_monitor.web.errors import ApiError
from vp_monitor.web.routes import EVERYONE, TECHNICIANS, Route

KEPT_TESTS = 50  # test results kept per web process (the oldest go first)
TEST_LIFETIME_S = 15 * 60  # how long a test's result may be read or a camera added from it
FRAME_TIMEOUT_S = 8.0  # the longest a live picture is waited for
FRAME_REUSE_S = 10.0  # a picture this recent is served again, not captured again
KEPT_FRAMES = 64  # recent pictures kept per web process
LIVE_CAPTURES = 4  # pictures captured at once per web process; more are refused (503)
JPEG = "image/jpeg"
REFERENCE_KINDS = ("day", "night")


# -- what a web process remembers --------------------------------------------------------------
@dataclass
class CameraTest:
    """One test's result, as kept between requests."""

    id: str
    owner: str  # the account that ran it: only it may read the test or add from it
    report: Any  # the check (probes.tiers.TierResult), its frame included
    tested_at: datetime
    connection: dict[str, Any] | None  # how the camera was reached, without the password
    password: str | None  # encrypted with the registry's key
    camera: str | None = None  # the registered camera tested; None before it is saved
    expires: float = 0.0  # time.monotonic() past which it is forgotten


class CameraTests:
    """The latest tests, at most `size`, each for `lifetime_s`."""

    def __init__(self, size: int = KEPT_TESTS, lifetime_s: float = TEST_LIFETIME_S):
        self.size, self.lifetime_s = size, lifetime_s
        self._tests: OrderedDict[str, CameraTest] = OrderedDict()

    def add(self, test: CameraTest) -> CameraTest:
        self._forget_expired()
        test.expires = time.monotonic() + self.lifetime_s
        self._tests[test.id] = test
        while len(self._tests) > self.size:
            self._tests.popitem(last=False)
        return test

    def get(self, test_id: str, owner: str) -> CameraTest:
        """The test, or 404 when it is unknown, expired or someone else's (alike)."""
        self._forget_expired()
        found = self._tests.get(test_id)
        if found is None or found.owner != owner:
            raise ApiError(404, "test.unknown", id=test_id[:64])
        return found

    def drop(self, test_id: str) -> None:
        self._tests.pop(test_id, None)

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for test_id in [key for key, test in self._tests.items() if test.expires <= now]:
            del self._tests[test_id]

    def __len__(self) -> int:
        return len(self._tests)


@dataclass
class RecentFrames:
    """Pictures captured lately, by camera code, so that a page refreshed does not make the
    camera send another; and how many captures run now."""

    frames: OrderedDict[str, tuple[float, bytes]] = field(default_factory=OrderedDict)
    running: int = 0

    def get(self, code: str) -> bytes | None:
        found = self.frames.get(code)
        if found is None or time.monotonic() - found[0] > FRAME_REUSE_S:
            return None
        return found[1]

    def put(self, code: str, jpeg: bytes) -> None:
        self.frames[code] = (time.monotonic(), jpeg)
        self.frames.move_to_end(code)
        while len(self.frames) > KEPT_FRAMES:
            self.frames.popitem(last=False)


@dataclass
class TechnicianState:
    tests: CameraTests = field(default_factory=CameraTests)
    frames: RecentFrames = field(default_factory=RecentFrames)


# Per web application (a test server and the real one never share results).
_STATES: weakref.WeakKeyDictionary[web.Application, TechnicianState] = weakref.WeakKeyDictionary()


def state_of(call: Call) -> TechnicianState:
    """What this web application remembers for the technicians' routes."""
    return _STATES.setdefault(call.request.app, TechnicianState())


# -- answers -----------------------------------------------------------------------------------
class DeviceOut(BaseModel):
    """What the camera says it is, over ONVIF."""

    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None


class ProfileOut(BaseModel):
    """One ONVIF media profile."""

    token: str
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    rtsp_uri: str | None  # credentials masked


class StreamsOut(BaseModel):
    """The stream URLs the camera is watched on, credentials masked."""

    main: str | None
    sub: str | None


class ProbeOut(BaseModel):
    """One probe's outcome."""

    probe: str
    ok: bool
    conditions: list[str]
    error: str | None
    duration_s: float
    metrics: list[MetricOut]


class CameraTestOut(BaseModel):
    """What a test found: the camera's identity, profiles and streams, each probe, the
    conditions, the picture's figures and the address of its frame. Never the password."""

    id: str
    camera: str | None  # the registered camera tested; None for a camera not saved yet
    tested_at: datetime
    expires_at: datetime  # the result, its frame and the add from it are kept until then
    state: str
    state_label: str
    conditions: list[ConditionOut]
    device: DeviceOut | None  # None: no ONVIF, or it did not answer
    profiles: list[ProfileOut]
    streams: StreamsOut
    probes: list[ProbeOut]
    picture: list[MetricOut]  # the frame analysis
    frame: str | None  # the address of the frame (JPEG), None when no picture came
    password_given: bool  # a password was given for this test (kept for the add from it)


def test_out(
    test: CameraTest, texts: Texts, lifetime_s: float, password: str | None = None
) -> dict[str, Any]:
    """The test as answered, every string scrubbed of `password` (the test's)."""
    report = test.report
    onvif = report.probes.get("onvif")
    detail = onvif.detail if onvif is not None and onvif.ok else {}
    profiles = [ProfileOut(**{**p, "rtsp_uri": redact_url(p.get("rtsp_uri"))})
                for p in detail.get("profiles") or []]  # fmt: skip
    given = test.connection or {}
    main = given.get("rtsp_main") or (profiles[0].rtsp_uri if profiles else None)
    sub = given.get("rtsp_sub") or (profiles[1].rtsp_uri if len(profiles) > 1 else None)
    device = DeviceOut(**{key: detail.get(key) for key in DeviceOut.model_fields}) \
        if detail else None  # fmt: skip
    probes = [
        ProbeOut(probe=name, ok=result.ok, conditions=sorted(result.conditions),
                 error=result.error, duration_s=round(result.duration_s, 3),
                 metrics=metrics_out(result.metrics, texts))
        for name, result in report.probes.items()
    ]  # fmt: skip
    answer = CameraTestOut(
        id=test.id, camera=test.camera, tested_at=test.tested_at,
        expires_at=test.tested_at + timedelta(seconds=lifetime_s), state=report.state,
        state_label=texts.state(report.state), conditions=conditions_out(report.conditions, texts),
        device=device, profiles=profiles, streams=StreamsOut(main=redact_url(main),
        sub=redact_url(sub)), probes=probes, picture=metrics_out(report.analysis, texts),
        frame=f"/api/v1/tests/{test.id}/frame" if report.evidence_jpeg else None,
        password_given=test.password is not None,
    ).model_dump(mode="json")  # fmt: skip
    return _scrubbed(answer, [password])


def _scrubbed(value: Any, secrets_: list[str | None]) -> Any:
    """Every string of `value` with URL credentials and the given secrets masked (the probes
    already mask them: this is the last line)."""
    if isinstance(value, str):
        return redact(value, secrets_)
    if isinstance(value, dict):
        return {key: _scrubbed(item, secrets_) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, secrets_) for item in value]
    return value


def _deadline(call: Call) -> float:
    """A test gets the full check's time, within the request's own limit."""
    within = max(call.app.settings.web.request_timeout_s - 2.0, 1.0)  # time left to answer
    return min(TIERS["stream"].timeout_s, within)


def _kept(call: Call, report: Any, connection: Any = None, camera: str | None = None):
    password = getattr(connection, "password", None)
    test = CameraTest(
        id=secrets.token_urlsafe(16), owner=call.principal.name, report=report,
        tested_at=datetime.now(UTC), camera=camera,
        connection=connection.model_dump(exclude={"password"}) if connection else None,
        password=call.app.secrets.encrypt(password) if password else None,
    )  # fmt: skip
    tests = state_of(call).tests
    tests.add(test)
    return test_out(test, caller_texts(call), tests.lifetime_s, password)


# -- tests -------------------------------------------------------------------------------------
async def test_new_camera(call: Call) -> CameraTestOut:
    """Test a camera before saving it: every probe once from its ONVIF address or RTSP URL,
    nothing written."""
    data: CameraTestInput = call.body
    report = await commands.check_before_saving(call.app, data, _deadline(call))
    return _kept(call, report, connection=data)


async def get_camera_test(call: Call) -> CameraTestOut:
    """A test's result again, while it is kept."""
    tests = state_of(call).tests
    test = tests.get(call.path("test_id"), call.principal.name)
    password = call.app.secrets.decrypt(test.password) if test.password else None
    return test_out(test, caller_texts(call), tests.lifetime_s, password)


async def get_camera_test_frame(call: Call) -> web.Response:
    """The frame a test captured (JPEG)."""
    test = state_of(call).tests.get(call.path("test_id"), call.principal.name)
    if not test.report.evidence_jpeg:
        raise ApiError(404, "test.no_frame")
    return jpeg_response(test.report.evidence_jpeg)


class AddedCameraOut(BaseModel):
    """The camera registered from a test."""

    code: str
    name: str | None
    site: str
    municipality: str
    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    onvif_host: str | None
    onvif_port: int | None
    rtsp_main: str | None  # credentials masked
    rtsp_sub: str | None
    expected_codec: str | None
    expected_width: int | None
    expected_height: int | None
    expected_fps: float | None
    has_password: bool


async def add_camera_from_test(call: Call) -> AddedCameraOut:
    """Register the camera a test reached, with its code, site and municipality: what the
    test found, its password (never sent again) and its frame as first reference."""
    tests = state_of(call).tests
    test = tests.get(call.path("test_id"), call.principal.name)
    if test.camera is not None:
        raise ApiError(409, "test.registered", code=test.camera)
    given = call.body.model_dump(exclude={"allow_duplicate_device"})
    password = call.app.secrets.decrypt(test.password) if test.password else None
    data = CameraInput(**test.connection, password=password, **given)
    record = await commands.add_tested_camera(
        call.app, data, test.report, call.body.allow_duplicate_device, call.scope, call.actor
    )
    tests.drop(test.id)  # added: its password is not kept a moment longer
    fields = {name: record.get(name) for name in AddedCameraOut.model_fields if name in record}
    fields |= {url: redact_url(record.get(url)) for url in ("rtsp_main", "rtsp_sub")}
    return AddedCameraOut(**fields, has_password=record.get("password") is not None)


async def test_registered_camera(call: Call) -> CameraTestOut:
    """Test a registered camera now, against its references: the monitor's full check; its
    result is not recorded as a check."""
    report = await commands.check_registered_camera(
        call.app, call.path("code"), call.scope, _deadline(call)
    )
    return _kept(call, report, camera=report.camera)


# -- references --------------------------------------------------------------------------------
class ReferenceInput(BaseModel):
    """Which reference to replace with a picture captured now, and why."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["day", "night"] = "day"
    note: str = Field("", max_length=500)
    # A PTZ camera: the reference of this preset (its ONVIF token; the camera must sit there).
    preset: str | None = Field(None, min_length=1, max_length=64)


class ReferenceOut(BaseModel):
    camera: str
    kind: str
    width: int
    height: int
    preset: str | None = None
    image: str  # the address of the reference now in force (JPEG)


async def approve_camera_reference(call: Call) -> ReferenceOut:
    """Capture a frame now and make it the camera's day or night reference."""
    body: ReferenceInput = call.body
    try:
        done = await commands.approve_reference(
            call.app, call.path("code"), body.kind, body.note, call.scope, call.actor,
            body.preset,
        )  # fmt: skip
    except RegistryError as exc:
        if exc.message.key not in CAMERA_STATE_REFUSALS:
            raise
        raise ApiError(409, exc.message) from None  # the camera's state, not the input
    return ReferenceOut(camera=done.camera, kind=done.kind, width=done.width, height=done.height,
                        image=f"/api/v1/cameras/{done.camera}/references/{done.kind}",
                        preset=done.preset)  # fmt: skip


# Refusals caused by what the camera is or does now (409), not by the request.
CAMERA_STATE_REFUSALS = frozenset({"camera.no_capture", "reference.not_ptz",
                                   "reference.not_at_preset"})  # fmt: skip


# -- pictures ----------------------------------------------------------------------------------
def jpeg_response(data: bytes) -> web.Response:
    return web.Response(body=data, content_type=JPEG)


async def get_camera_frame(call: Call) -> web.Response:
    """A picture of the camera now: the monitor keeps none (only incidents' evidence), so it
    is captured live within a few seconds, and served again to whoever asks within 10 s."""
    code = await call.app.in_registry(
        lambda registry: views.find_camera(registry.session, call.scope, call.path("code")).code
    )  # scope first: a cached picture is no way around it
    frames = state_of(call).frames
    cached = frames.get(code)
    if cached is not None:
        return jpeg_response(cached)
    if frames.running >= LIVE_CAPTURES:
        raise ApiError(503, "camera.frames_busy")
    frames.running += 1
    try:
        jpeg = await commands.live_frame(call.app, code, call.scope, FRAME_TIMEOUT_S)
    finally:
        frames.running -= 1
    if jpeg is None:
        raise ApiError(409, "camera.no_frame", code=code, seconds=int(FRAME_TIMEOUT_S))
    frames.put(code, jpeg)
    return jpeg_response(jpeg)


async def get_camera_reference(call: Call) -> web.Response:
    """The camera's day or night reference image in force (JPEG)."""
    code, kind = call.path("code"), call.path("kind")
    if kind not in REFERENCE_KINDS:
        raise ApiError(404, "reference.none", code=code[:40], kind=kind[:20])
    jpeg = await call.app.in_registry(
        lambda registry: views.reference_jpeg(registry.session, call.scope, code, kind)
    )
    return jpeg_response(jpeg)


class ThumbnailQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seen: int | None = Field(
        None, ge=0, description="Any number: a new one asks past a browser's cached picture "
        "(the wall sends the time of a state change).",
    )  # fmt: skip


async def get_camera_thumbnail(call: Call) -> web.Response:
    """The latest picture the monitor decoded from the camera, small (JPEG)."""
    jpeg = await call.app.in_registry(
        lambda registry: views.thumbnail_jpeg(registry.session, call.scope, call.path("code"))
    )
    return jpeg_response(jpeg)


async def get_incident_evidence(call: Call) -> web.Response:
    """The frame kept as an incident's evidence (JPEG)."""
    jpeg = await call.app.in_registry(
        lambda registry: views.evidence_jpeg(registry.session, call.scope, call.path("incident_id"))
    )
    return jpeg_response(jpeg)


TEST_LINKS = links_by_id(
    "test_id", "get_camera_test", "get_camera_test_frame", "add_camera_from_test"
)
TAGS = ("technician",)
PICTURES = ("pictures",)
ROUTES = [
    Route("POST", "/api/v1/tests", test_new_camera, TECHNICIANS,
          "Test a camera before saving it (ONVIF address and credentials, or RTSP URL)",
          body=CameraTestInput, response=CameraTestOut, status=201, tags=TAGS,
          extra={"links": TEST_LINKS}),
    Route("GET", "/api/v1/tests/{test_id}", get_camera_test, TECHNICIANS,
          "A camera test's result, while it is kept", response=CameraTestOut, tags=TAGS),
    Route("GET", "/api/v1/tests/{test_id}/frame", get_camera_test_frame, TECHNICIANS,
          "The frame a camera test captured", response=bytes, media_type=JPEG, tags=TAGS),
    Route("POST", "/api/v1/tests/{test_id}/camera", add_camera_from_test, TECHNICIANS,
          "Register the camera a test reached", body=TestedCameraInput,
          response=AddedCameraOut, status=201, errors=(409,), tags=TAGS),
    Route("POST", "/api/v1/cameras/{code}/test", test_registered_camera, TECHNICIANS,
          "Test a registered camera now", response=CameraTestOut, status=201, tags=TAGS,
          extra={"links": TEST_LINKS}),
    Route("POST", "/api/v1/cameras/{code}/references", approve_camera_reference, TECHNICIANS,
          "Approve a day or night reference image from a frame captured now",
          body=ReferenceInput, response=ReferenceOut, status=201, errors=(409,), tags=TAGS),
    Route("GET", "/api/v1/cameras/{code}/frame", get_camera_frame, EVERYONE,
          "A picture of the camera now (JPEG)", response=bytes, media_type=JPEG,
          errors=(409,), tags=PICTURES),
    Route("GET", "/api/v1/cameras/{code}/references/{kind}", get_camera_reference,
          EVERYONE, "The camera's day or night reference image in force (JPEG)",
          response=bytes, media_type=JPEG, tags=PICTURES),
    Route("GET", "/api/v1/cameras/{code}/thumbnail", get_camera_thumbnail, EVERYONE,
          "The latest picture the monitor's checks decoded, 320 px wide (JPEG; the day "
          "reference until a check decoded one)", query=ThumbnailQuery, response=bytes,
          media_type=JPEG, tags=PICTURES),
    Route("GET", "/api/v1/incidents/{incident_id}/evidence", get_incident_evidence, EVERYONE,
          "An incident's evidence frame (JPEG)", response=bytes, media_type=JPEG,
          tags=PICTURES),
]  # fmt: skip
