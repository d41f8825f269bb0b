"""Commands: onboarding (from ONVIF, from RTSP, test before save), reference approval,
acknowledgement and maintenance planning.

Each is a coroutine, so the web service awaits it inside its event loop as the command line
does inside `asyncio.run`; the network is awaited, the database work runs in the application's
thread pool, one transaction per step, and a camera is written only once it has answered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import cv2
from sqlalchemy import select

from vp_monitor.probes.base import ProbeSettings, ProbeTarget, camera_target
from vp_monitor.registry.service import NotFound, RegistryError, camera_record
from vp_monitor.service.app import App
from vp_monitor.service.scope import Scope
from vp_monitor.service.views import find_camera, find_incident

CAPTURE_CONCURRENCY = 8  # cameras captured at once by approve_missing
FIRST_PICTURE = "first picture at registration"


def target_for(registry: Any, camera: Any) -> ProbeTarget:
    """What the probes need to know about a registered camera: password decrypted, and the
    camera clock's offset as the monitor last measured it."""
    from vp_monitor.monitor.models import CameraStatus  # the monitor's last word on the camera

    offset = registry.session.scalar(
        select(CameraStatus.clock_offset_s).where(CameraStatus.camera_id == camera.id)
    )
    return camera_target(camera, registry.password(camera), offset)


def _in_scope(scope: Scope, insee: str) -> None:
    if not scope.has_municipality(insee):
        raise NotFound("import.unknown_municipality", insee=insee)


async def capture_frame(target: ProbeTarget, settings: ProbeSettings):
    """One frame from the camera now, or None."""
    from vp_monitor.probes.runner import run_probe

    one = settings.model_copy(update={"stream": settings.stream.model_copy(
        update={"window_s": 0.5, "second_keyframe_delay_s": 0.0})})  # fmt: skip
    result = await run_probe("stream", target, one)
    return result.frames[0] if result.frames else None


def store_reference(registry: Any, camera: Any, frame: Any, kind: str, note: str) -> Any:
    """Store `frame` as the camera's approved reference of `kind` (day or night)."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    height, width = frame.shape[:2]
    return registry.add_reference(camera, data.tobytes(), (width, height), kind, note)


# -- onboarding --------------------------------------------------------------------------------
async def add_from_onvif(
    app: App, data: Any, allow_duplicate_device: bool = False, scope: Scope | None = None
) -> dict[str, Any]:
    """Register a camera from what it says over ONVIF (identity, profiles, stream URLs) with
    the other fields of `data` (a CameraInput), and take its first reference image; the
    camera's record. RegistryError (nothing written) when the camera cannot be read."""
    from vp_monitor.probes.onvif import OnvifFailure, inventory
    from vp_monitor.registry.schemas import CameraInput

    _in_scope(scope or Scope.supervision(), data.municipality)
    await app.in_registry(lambda registry: registry.check_new_camera(data, allow_duplicate_device))
    settings = app.probe_settings
    host, port, user, password = data.onvif_host, data.onvif_port, data.username, data.password
    try:
        found = await inventory(host, port or 80, user, password, settings.onvif.timeout_s)
    except OnvifFailure as exc:
        raise RegistryError(
            "probe.onvif_failed", code=data.code, condition=exc.condition, reason=exc
        ) from None
    main = found.profiles[0] if found.profiles else None
    described = CameraInput(
        code=data.code, site=data.site, municipality=data.municipality, onvif_host=host,
        onvif_port=port, username=user, password=password, rtsp_main=found.rtsp_main,
        rtsp_sub=found.rtsp_sub, manufacturer=found.manufacturer, model=found.model,
        serial=found.serial, firmware=found.firmware, expected_codec=main and main.codec,
        expected_width=main and main.width, expected_height=main and main.height,
        expected_fps=main and main.fps,
    )  # fmt: skip
    target = ProbeTarget(data.code, host, port, user, password, found.rtsp_main, found.rtsp_sub)
    frame = await capture_frame(target, settings)
    given = data.model_dump(exclude_none=True, exclude={"code", "password", "uplink"})

    def write(registry: Any) -> dict[str, Any]:
        camera = registry.add_camera(described, allow_duplicate_device)
        registry.update_camera(data.code, allow_duplicate_device, **given)  # what was given wins
        if frame is not None:
            registry.session.flush()  # the camera needs its id before a reference points to it
            store_reference(registry, camera, frame, "day", FIRST_PICTURE)
        return camera_record(camera)

    return await app.in_registry(write)


async def add_from_rtsp(
    app: App, data: Any, allow_duplicate_device: bool = False, scope: Scope | None = None
) -> dict[str, Any]:
    """Register a camera given by its RTSP URLs once its streams answer a DESCRIBE with its
    credentials and give a first frame, kept as its reference; the camera's record.
    RegistryError (nothing written) when they do not."""
    _in_scope(scope or Scope.supervision(), data.municipality)
    # Before spending time on probes: a duplicate code or an unknown site is said at once.
    await app.in_registry(lambda registry: registry.check_new_camera(data, allow_duplicate_device))
    described, frame = await _describe_and_capture(app, data)
    main = described.detail.get("main") or described.detail.get("sub") or {}
    expected = {
        f"expected_{name}": main.get(name)
        for name in ("codec", "width", "height", "fps")
        if getattr(data, f"expected_{name}") is None and main.get(name)
    }

    def write(registry: Any) -> dict[str, Any]:
        camera = registry.add_camera(data.model_copy(update=expected), allow_duplicate_device)
        registry.session.flush()  # the camera needs its id before a reference can point to it
        store_reference(registry, camera, frame, "day", FIRST_PICTURE)
        return camera_record(camera)

    return await app.in_registry(write)


async def _describe_and_capture(app: App, data: Any) -> tuple[Any, Any]:
    """The RTSP probe's answer and a first frame of a camera not registered yet; RegistryError
    when either fails."""
    from vp_monitor.probes.runner import run_probe

    settings = app.probe_settings
    target = ProbeTarget(data.code, username=data.username, password=data.password,
                         rtsp_main=data.rtsp_main, rtsp_sub=data.rtsp_sub)  # fmt: skip
    described = await run_probe("rtsp", target, settings)
    if not described.ok:
        condition = ", ".join(sorted(described.conditions))
        key = "probe.rtsp_auth" if "auth_failed" in described.conditions else "probe.rtsp_failed"
        raise RegistryError(key, code=data.code, condition=condition, reason=described.error)
    frame = await capture_frame(target, settings)
    if frame is None:
        raise RegistryError("probe.no_picture", code=data.code)
    return described, frame


async def check_before_saving(app: App, data: Any) -> Any:
    """Every probe once on a camera described by `data` (a CameraInput) that is not saved:
    the check report, nothing written."""
    from vp_monitor.probes.check import run_tier

    target = ProbeTarget(
        data.code, data.onvif_host, data.onvif_port, data.username, data.password,
        data.rtsp_main, data.rtsp_sub,
    )  # fmt: skip
    return await run_tier(
        "stream", target, app.probe_settings, {}, app.settings.vision, read_device=True
    )


async def check_registered_camera(app: App, code: str, scope: Scope | None = None) -> Any:
    """Every probe once on a registered camera, against its references: the monitor's full
    check (the stream tier), so both report the same conditions for the same camera."""
    from vp_monitor.probes.check import run_tier

    def load(registry: Any) -> tuple[ProbeTarget, dict[str, bytes]]:
        camera = find_camera(registry.session, scope or Scope.supervision(), code)
        found: dict[str, bytes] = {}
        for reference in registry.references(camera):  # newest first: the one in force
            found.setdefault(str(reference.kind.value), reference.jpeg)
        return target_for(registry, camera), found

    target, references = await app.in_registry(load)
    # A person asking for a check wants the device's identity too: the full ONVIF read.
    return await run_tier(
        "stream", target, app.probe_settings, references, app.settings.vision, read_device=True
    )


# -- references --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovedReference:
    """A reference image just approved."""

    camera: str
    kind: str
    width: int
    height: int


async def approve_reference(
    app: App, code: str, kind: str, note: str, scope: Scope | None = None
) -> ApprovedReference:
    """Capture a frame now and make it the camera's `kind` (day or night) reference;
    RegistryError (reference unchanged) when no picture comes."""
    scope = scope or Scope.supervision()

    def load(registry: Any) -> ProbeTarget:
        return target_for(registry, find_camera(registry.session, scope, code))

    frame = await capture_frame(await app.in_registry(load), app.probe_settings)
    if frame is None:
        raise RegistryError("camera.no_capture", code=code)

    def store(registry: Any) -> ApprovedReference:
        camera = find_camera(registry.session, scope, code)
        stored = store_reference(registry, camera, frame, kind, note)
        return ApprovedReference(camera.code, kind, stored.width, stored.height)

    return await app.in_registry(store)


async def approve_missing(app: App, kind: str, note: str, scope: Scope | None = None) -> list[str]:
    """Capture and approve a `kind` reference for every watched camera of the scope that has
    none (after a CSV import, say), a few cameras at a time; the codes of those that gave no
    picture."""
    from sqlalchemy import select

    from vp_monitor.registry.models import SCHEDULED_LIFECYCLES, Camera

    scope = scope or Scope.supervision()

    def load(registry: Any) -> list[tuple[str, ProbeTarget]]:
        for insee in scope.municipalities:
            registry.municipality(insee)  # an unknown one is an error, not an empty list
        query = select(Camera).where(Camera.lifecycle.in_(SCHEDULED_LIFECYCLES), scope.cameras())
        cameras = registry.session.scalars(query.order_by(Camera.code))
        return [(c.code, target_for(registry, c)) for c in cameras
                if not registry.references(c, kind)]  # fmt: skip

    wanted = await app.in_registry(load)
    limit = asyncio.Semaphore(CAPTURE_CONCURRENCY)

    async def capture(target: ProbeTarget) -> Any:
        async with limit:
            return await capture_frame(target, app.probe_settings)

    frames = await asyncio.gather(*(capture(target) for _code, target in wanted))
    missed = [code for (code, _), frame in zip(wanted, frames, strict=True) if frame is None]

    def store(registry: Any) -> None:
        for (code, _), frame in zip(wanted, frames, strict=True):
            if frame is not None:
                store_reference(registry, registry.camera(code), frame, kind, note)

    await app.in_registry(store)
    return missed


# -- incidents and maintenance -----------------------------------------------------------------
@dataclass(frozen=True)
class Acknowledgement:
    """The outcome of an acknowledgement: the incident, and its status before."""

    incident_id: str
    status_before: str
    by: str


async def acknowledge(
    app: App, incident_id: str, note: str = "", scope: Scope | None = None,
    actor: str | None = None,
) -> Acknowledgement:  # fmt: skip
    """Acknowledge an incident of the scope (by id or unique prefix), with a note: stops
    escalation and reminders, and tells the recipients; an incident not open is left as is."""
    from vp_monitor.alerts.incidents import acknowledge as record_acknowledgement

    by = actor or app.actor

    def run(registry: Any) -> Acknowledgement:
        found = find_incident(registry.session, scope or Scope.supervision(), incident_id)
        before = found.status
        record_acknowledgement(registry.session, found.id, by, note, app.settings.alerts)
        return Acknowledgement(found.id, before, by)

    return await app.in_registry(run)


async def plan_maintenance(app: App, data: Any, scope: Scope | None = None) -> int:
    """Plan a maintenance window (a MaintenanceInput) on a camera, a site or a municipality of
    the scope; the window's id."""
    scope = scope or Scope.supervision()

    def run(registry: Any) -> int:
        if data.scope == "camera":
            find_camera(registry.session, scope, data.target)
        elif data.scope == "municipality":
            _in_scope(scope, data.target)
        elif not scope.is_supervision:
            site = registry.site(data.target, data.municipality)
            _in_scope(scope, site.municipality.insee)
        window = registry.add_maintenance(data)
        registry.session.flush()
        return window.id

    return await app.in_registry(run)
