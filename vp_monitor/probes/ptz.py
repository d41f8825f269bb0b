"""PTZ probe: where a PTZ camera looks (ONVIF PTZ GetStatus) and which of its presets
(GetPresets, cached) that is, within a tolerance; `ptz_not_home` when it is away from home.

The camera's home is the preset named or tokened "home" (case ignored), else its first preset:
ONVIF has no request that reads the home position, and cameras store it as preset 1. A camera
whose position cannot be read gets a result that says so and no condition: its picture is then
judged without a reference (probes/check.py), and nothing is raised or cleared for its position.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from vp_monitor.probes.base import ProbeResult, ProbeTarget, redact
from vp_monitor.probes.onvif import (
    CLIENTS,
    PROTOCOL_ERRORS,
    UNREACHABLE_ERRORS,
    _close,
    _connect,
    _new_client,
    _service,
    _set_offset,
    classify,
)

log = logging.getLogger(__name__)
PRESET_CACHE_SIZE = 4096  # cameras whose presets are kept (a few hundred bytes each)
Position = tuple[float, float, float]


@dataclass(frozen=True)
class Presets:
    """A camera's presets (token -> name, position), its home token and the media profile
    whose PTZ node is asked, as read at `read_at` (monotonic)."""

    positions: dict[str, Position]
    names: dict[str, str]
    home: str | None
    profile: str
    read_at: float


PRESETS: OrderedDict[tuple, Presets] = OrderedDict()


def home_of(names: dict[str, str]) -> str | None:
    """The home preset: named or tokened "home", else the first one (None without presets)."""
    for token, name in names.items():
        if "home" in (token.lower(), name.lower()):
            return token
    return next(iter(names), None)


def preset_at(position: Position, presets: Presets, tolerance: float) -> str | None:
    """The preset the camera sits at (every axis within `tolerance`), the nearest if several."""
    best, best_distance = None, tolerance
    for token, stored in presets.positions.items():
        distance = max(abs(a - b) for a, b in zip(position, stored, strict=True))
        if distance <= best_distance:
            best, best_distance = token, distance
    return best


def _vector(value: Any) -> Position:
    """(pan, tilt, zoom) of an ONVIF PTZVector (absent axes read 0)."""
    pan_tilt, zoom = getattr(value, "PanTilt", None), getattr(value, "Zoom", None)
    return (float(getattr(pan_tilt, "x", 0) or 0), float(getattr(pan_tilt, "y", 0) or 0),
            float(getattr(zoom, "x", 0) or 0))  # fmt: skip


async def _presets(client: Any, target: ProbeTarget, conf: Any) -> Presets:
    """The camera's presets, read again once they are older than `presets_ttl_s`."""
    key = CLIENTS.key(target)
    cached = PRESETS.get(key)
    if cached is not None and time.monotonic() - cached.read_at < conf.presets_ttl_s:
        PRESETS.move_to_end(key)
        return cached
    media = await _service(client, "media", conf.max_reply_bytes)
    profiles = await media.GetProfiles() or []
    if not profiles:
        raise ValueError("the camera has no media profile")
    ptz = await client.create_ptz_service()
    token = str(profiles[0].token)
    found = await ptz.GetPresets({"ProfileToken": token}) or []
    positions = {str(p.token): _vector(p.PTZPosition) for p in found if p.PTZPosition}
    names = {str(p.token): str(p.Name or p.token) for p in found if str(p.token) in positions}
    presets = Presets(positions, names, home_of(names), token, time.monotonic())
    PRESETS[key] = presets
    while len(PRESETS) > PRESET_CACHE_SIZE:
        PRESETS.popitem(last=False)
    return presets


async def _position(target: ProbeTarget, conf: Any) -> tuple[Position, Presets]:
    client = CLIENTS.get(target)
    fresh = client is None
    if client is None:
        client = _new_client(target.onvif_host or "", target.onvif_port or 80, target.username,
                             target.password)  # fmt: skip
    try:
        if fresh:
            await _connect(client, conf.max_reply_bytes, True, target.clock_offset_s)
        else:
            _set_offset(client, target.clock_offset_s)
        presets = await _presets(client, target, conf)
        ptz = await client.create_ptz_service()
        status = await ptz.GetStatus({"ProfileToken": presets.profile})
    except BaseException:
        await (CLIENTS.drop(target) if not fresh else _close(client))
        PRESETS.pop(CLIENTS.key(target), None)  # the presets may have changed too
        raise
    if fresh:
        await CLIENTS.put(target, client)
    return _vector(status.Position), presets


async def run(target: ProbeTarget, settings: Any) -> ProbeResult:
    """The PTZ position of the camera, the preset it sits at, whether that is home."""
    conf = settings.ptz
    if not target.onvif_host:
        return ProbeResult("ptz", False, error="no ONVIF address known for this camera")
    try:
        position, presets = await _position(target, conf)
    except PROTOCOL_ERRORS + UNREACHABLE_ERRORS as exc:
        _condition, reason = classify(exc, target.password)
        reason = redact(f"position not read: {reason}", target.secrets())
        log.info("%s: PTZ %s", target.camera, reason)
        return ProbeResult("ptz", False, error=reason)
    preset = preset_at(position, presets, conf.preset_tolerance)
    away = presets.home is not None and preset != presets.home
    metrics = {"pan": position[0], "tilt": position[1], "zoom": position[2],
               "at_preset": float(preset is not None), "at_home": float(not away)}  # fmt: skip
    detail = {"preset": preset, "preset_name": presets.names.get(preset or ""),
              "home": presets.home, "presets": len(presets.positions)}  # fmt: skip
    return ProbeResult("ptz", True, frozenset({"ptz_not_home"} if away else ()), metrics, detail)
