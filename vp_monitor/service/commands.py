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
NEW_CAMERA = "new camera"  # how the probes' logs name a camera tested before it has a code


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


def store_reference(
    registry: Any, camera: Any, frame: Any, kind: str, note: str, preset: str | None = None
) -> Any:
    """Store `frame` as the camera's approved reference of `kind` (day or night), of one PTZ
    preset's view when `preset`."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    height, width = frame.shape[:2]
    return registry.add_reference(
        camera, data.tobytes(), (width, height), kind, note, preset=preset
    )


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


async def check_before_saving(app: App, data: Any, deadline_s: float | None = None) -> Any:
    """Every probe once on a camera described by `data` (a CameraInput, or a CameraTestInput
    that has no code yet) that is not saved: the check report, nothing written. Past
    `deadline_s` the report is the abandoned check's."""
    target = ProbeTarget(
        getattr(data, "code", None) or NEW_CAMERA, data.onvif_host, data.onvif_port,
        data.username, data.password, data.rtsp_main, data.rtsp_sub,
    )  # fmt: skip
    return await _full_check(app, target, {}, deadline_s)


async def check_registered_camera(
    app: App, code: str, scope: Scope | None = None, deadline_s: float | None = None
) -> Any:
    """Every probe once on a registered camera, against its references: the monitor's full
    check (the stream tier), so both report the same conditions for the same camera."""

    from vp_monitor.probes.tiers import mark_reference
    from vp_monitor.registry.service import references_in_force

    def load(registry: Any) -> tuple[ProbeTarget, dict[str, Any]]:
        camera = find_camera(registry.session, scope or Scope.supervision(), code)
        found = references_in_force(registry.session, [camera.id]).get(camera.id, {})
        return target_for(registry, camera), found

    target, in_force = await app.in_registry(load)
    references = {kind: reference.jpeg for kind, reference in in_force.items()}
    result = await _full_check(app, target, references, deadline_s)
    return mark_reference(result, {kind for kind, r in in_force.items() if r.provisional})


async def _full_check(
    app: App, target: ProbeTarget, references: dict[str, bytes], deadline_s: float | None
) -> Any:
    from dataclasses import replace

    from vp_monitor.probes.check import run_tier
    from vp_monitor.probes.tiers import overrun_result

    try:
        async with asyncio.timeout(deadline_s):
            # A person asking for a check wants the device's identity too: the full ONVIF read.
            return await run_tier(
                "stream",
                target,
                app.probe_settings,
                references,
                app.settings.vision,
                read_device=True,
            )
    except TimeoutError:
        return replace(overrun_result("stream", deadline_s or 0.0), camera=target.camera)


async def add_tested_camera(
    app: App, data: Any, report: Any, allow_duplicate_device: bool = False,
    scope: Scope | None = None, actor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Register a camera from a test before saving (`report`, check_before_saving's) with the
    fields of `data` (a CameraInput holding the tested connection): identity, profiles and
    stream URLs as ONVIF told them, the test's picture as first reference; nothing is asked
    of the camera again. What was given wins over what the camera said. RegistryError (nothing
    written) when the camera did not answer the test as add_from_onvif / add_from_rtsp need."""
    from vp_monitor.probes.check import decode_reference
    from vp_monitor.registry.schemas import CameraInput

    _in_scope(scope or Scope.supervision(), data.municipality)
    _refuse_unanswered(data, report)
    found = _described(report)
    given = data.model_dump(exclude_none=True)
    described = CameraInput(**{**found, **given})
    frame = decode_reference(report.evidence_jpeg) if report.evidence_jpeg else None

    def write(registry: Any) -> dict[str, Any]:
        registry.check_new_camera(described, allow_duplicate_device)
        camera = registry.add_camera(described, allow_duplicate_device)
        if frame is not None:
            registry.session.flush()  # the camera needs its id before a reference points to it
            height, width = frame.shape[:2]
            registry.add_reference(
                camera, report.evidence_jpeg, (width, height), "day", FIRST_PICTURE
            )
        return camera_record(camera)

    return await app.in_registry(write, actor=actor)


def _refuse_unanswered(data: Any, report: Any) -> None:
    """As add_from_onvif: ONVIF must have answered; as add_from_rtsp without ONVIF: the stream
    must have been described and given a picture."""
    probes = report.probes
    onvif, rtsp = probes.get("onvif"), probes.get("rtsp")
    if data.onvif_host:
        if onvif is None or not onvif.ok:
            condition = ", ".join(sorted(onvif.conditions if onvif else report.conditions))
            reason = (onvif.error if onvif else None) or report.detail.get("error", "")
            raise RegistryError(
                "probe.onvif_failed", code=data.code, condition=condition, reason=reason
            )
        return
    if rtsp is None or not rtsp.ok:
        conditions = rtsp.conditions if rtsp else report.conditions
        key = "probe.rtsp_auth" if "auth_failed" in conditions else "probe.rtsp_failed"
        reason = (rtsp.error if rtsp else None) or report.detail.get("error", "")
        raise RegistryError(key, code=data.code, condition=", ".join(sorted(conditions)),
                            reason=reason)  # fmt: skip
    if report.evidence_jpeg is None:
        raise RegistryError("probe.no_picture", code=data.code)


def _described(report: Any) -> dict[str, Any]:
    """CameraInput fields from what a test saw: ONVIF identity and profiles (the first is the
    main stream), else the RTSP description of the main stream."""
    onvif = report.probes.get("onvif")
    detail = onvif.detail if onvif is not None and onvif.ok else {}
    profiles = detail.get("profiles") or []
    main = profiles[0] if profiles else {}
    if not main:
        rtsp = report.probes.get("rtsp")
        described = rtsp.detail if rtsp is not None and rtsp.ok else {}
        main = described.get("main") or described.get("sub") or {}
    found = {
        "manufacturer": detail.get("manufacturer"), "model": detail.get("model"),
        "serial": detail.get("serial"), "firmware": detail.get("firmware"),
        "rtsp_main": profiles[0].get("rtsp_uri") if profiles else None,
        "rtsp_sub": profiles[1].get("rtsp_uri") if len(profiles) > 1 else None,
        **{f"expected_{name}": main.get(name) for name in ("codec", "width", "height", "fps")},
    }  # fmt: skip
    return {name: value for name, value in found.items() if value not in (None, "")}


# -- references --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovedReference:
    """A reference image just approved."""

    camera: str
    kind: str
    width: int
    height: int
    preset: str | None = None


async def _at_preset(target: ProbeTarget, preset: str | None, settings: ProbeSettings) -> None:
    """RegistryError unless the PTZ camera sits at `preset` now (nothing to check without)."""
    from vp_monitor.probes.runner import run_probe

    if preset is None:
        return
    found = await run_probe("ptz", target, settings)
    at = found.detail.get("preset") if found.ok else None
    if at != preset:
        raise RegistryError("reference.not_at_preset", code=target.camera, preset=preset,
                            at=at or "-")  # fmt: skip


async def approve_reference(
    app: App, code: str, kind: str, note: str, scope: Scope | None = None,
    actor: str | None = None, preset: str | None = None,
) -> ApprovedReference:  # fmt: skip
    """Capture a frame now and make it the camera's `kind` (day or night) reference, approved
    by `actor` (for a PTZ camera, that of `preset`: it must sit there before and after the
    capture); RegistryError (reference unchanged) when no picture comes."""
    scope = scope or Scope.supervision()

    def load(registry: Any) -> ProbeTarget:
        return target_for(registry, find_camera(registry.session, scope, code))

    target = await app.in_registry(load)
    if preset is not None and not target.ptz:
        raise RegistryError("reference.not_ptz", code=code)
    await _at_preset(target, preset, app.probe_settings)
    frame = await capture_frame(target, app.probe_settings)
    if frame is None:
        raise RegistryError("camera.no_capture", code=code)
    await _at_preset(target, preset, app.probe_settings)

    def store(registry: Any) -> ApprovedReference:
        camera = find_camera(registry.session, scope, code)
        stored = store_reference(registry, camera, frame, kind, note, preset)
        return ApprovedReference(camera.code, kind, stored.width, stored.height, preset)

    return await app.in_registry(store, actor=actor)


async def live_frame(
    app: App, code: str, scope: Scope | None = None, timeout_s: float = 10.0
) -> bytes | None:
    """A picture of a registered camera of the scope captured now (the monitor keeps none but
    incidents' evidence), as JPEG; None when none came within `timeout_s`."""
    from vp_monitor.probes.check import EVIDENCE_JPEG_QUALITY

    def load(registry: Any) -> ProbeTarget:
        return target_for(registry, find_camera(registry.session, scope or Scope.supervision(),
                                                code))  # fmt: skip

    target = await app.in_registry(load)
    try:
        async with asyncio.timeout(timeout_s):
            frame = await capture_frame(target, app.probe_settings)
    except TimeoutError:
        frame = None
    if frame is None:
        return None
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
    return data.tobytes() if ok else None


async def approve_missing(app: App, kind: str, note: str, scope: Scope | None = None) -> list[str]:
    """Capture and approve a `kind` reference for every watched camera of the scope that has
    no approved one (after a CSV import, say; a provisional one is replaced), a few cameras
    at a time; the codes of those that gave no picture."""
    from sqlalchemy import select

    from vp_monitor.registry.models import SCHEDULED_LIFECYCLES, Camera

    scope = scope or Scope.supervision()

    def load(registry: Any) -> list[tuple[str, ProbeTarget]]:
        for insee in scope.municipalities:
            registry.municipality(insee)  # an unknown one is an error, not an empty list
        query = select(Camera).where(Camera.lifecycle.in_(SCHEDULED_LIFECYCLES), scope.cameras())
        cameras = registry.session.scalars(query.order_by(Camera.code))
        return [(c.code, target_for(registry, c)) for c in cameras
                if not registry.references(c, kind, approved=True)]  # fmt: skip

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
        if before == "open":
            registry.audit("acknowledge", "incident", found.id, {"status": before},
                           {"status": found.status, "note": note})  # fmt: skip
        return Acknowledgement(found.id, before, by)

    return await app.in_registry(run, actor=by)


@dataclass(frozen=True)
class Resolution(Acknowledgement):
    """The outcome of a resolution by hand: the incident, its status before, who resolved it."""


async def resolve(
    app: App, incident_id: str, note: str = "", scope: Scope | None = None,
    actor: str | None = None,
) -> Resolution:  # fmt: skip
    """Resolve an incident of the scope by hand (the camera was repaired, the alarm was false),
    with a note kept in the audit trail; tells whoever heard about it. An incident resolved
    already is left as is. Should the camera still be in trouble, the monitor's next checks
    open it again (within the grace period: reopened)."""
    from vp_monitor.alerts.incidents import resolve as record_resolution
    from vp_monitor.db import utcnow
    from vp_monitor.monitor.models import CameraStatus

    by = actor or app.actor

    def run(registry: Any) -> Resolution:
        found = find_incident(registry.session, scope or Scope.supervision(), incident_id)
        before = found.status
        if before == "resolved":
            return Resolution(found.id, before, by)
        # The camera's state as the monitor last saw it: who hears of the resolution is told it.
        current = registry.session.get(CameraStatus, found.camera_id) if found.camera_id else None
        state = current.state if current else "unknown"
        record_resolution(registry.session, found, utcnow(), app.settings.alerts,
                          camera_state=state)  # fmt: skip
        registry.audit("resolve", "incident", found.id, {"status": before},
                       {"status": "resolved", "note": note})  # fmt: skip
        return Resolution(found.id, before, by)

    return await app.in_registry(run, actor=by)


async def plan_maintenance(
    app: App, data: Any, scope: Scope | None = None, actor: str | None = None
) -> int:
    """Plan a maintenance window (a MaintenanceInput) on a camera, a site or a municipality of
    the scope, by `actor`; the window's id."""
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

    return await app.in_registry(run, actor=actor)


async def cancel_maintenance(
    app: App, window_id: int, scope: Scope | None = None, actor: str | None = None
) -> None:
    """Remove a maintenance window of the scope (another tenant's is not found)."""
    from vp_monitor.service.views import find_maintenance

    def run(registry: Any) -> None:
        find_maintenance(registry.session, scope or Scope.supervision(), window_id)
        registry.remove_maintenance(window_id)

    await app.in_registry(run, actor=actor)
