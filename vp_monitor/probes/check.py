"""The one composition of a check: a tier's probes (see tiers.TIERS), then the frame analysis."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import cv2
import numpy as np

from vp_monitor import vision
from vp_monitor.metrics import record_probe_failures
from vp_monitor.probes.base import ProbeResult, ProbeSettings, ProbeTarget, reference_key
from vp_monitor.probes.runner import run_probe
from vp_monitor.probes.tiers import (
    NEEDS_REFERENCE,
    ONVIF_PROBES,
    TIERS,
    TierResult,
    full_read_after,
    full_read_first,
    tier_conditions,
    tier_observed,
)

EVIDENCE_JPEG_QUALITY = 85
# The status wall's tiles are 160 px wide: twice that for sharp screens, ~10 kB a picture.
THUMBNAIL_WIDTH = 320
THUMBNAIL_JPEG_QUALITY = 70


def decode_reference(data: bytes | np.ndarray | None) -> np.ndarray | None:
    """A reference image as a BGR array (JPEG/PNG bytes are decoded)."""
    if data is None or isinstance(data, np.ndarray):
        return data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image


async def run_tier(
    tier: str,
    target: ProbeTarget,
    settings: ProbeSettings,
    references: dict[str, bytes | np.ndarray] | None = None,
    vision_settings: vision.VisionSettings | None = None,
    read_device: bool = False,
) -> TierResult:
    """One check of `tier` on one camera (its probes, then the picture's analysis), as the
    monitor and `vp-monitor check` both run it; the caller adds the whole check's deadline.

    A tier's cheap ONVIF clock read becomes the full read (identity, profiles) when a change
    is suspected (tiers.full_read_first / full_read_after) or `read_device` asks for it."""
    spec = TIERS.get(tier)
    if spec is None:
        raise ValueError(f"unknown tier {tier!r}")
    if spec.needs_onvif and not target.onvif_host:
        return TierResult(tier, frozenset(), frozenset(), None, detail={"skipped": "no ONVIF"},
                          camera=target.camera)  # fmt: skip
    kinds = [kind for kind in spec.probes if _applies(kind, target)]
    if "clock" in kinds and (read_device or full_read_first(target)):
        kinds[kinds.index("clock")] = "onvif"
    probes: dict[str, ProbeResult] = {}
    if "onvif" in kinds:
        probes["onvif"] = await run_probe("onvif", target, settings)
        target = _with_announced_urls(target, probes["onvif"])
    others = [kind for kind in kinds if kind != "onvif"]
    results = await asyncio.gather(*(run_probe(kind, target, settings) for kind in others))
    probes |= dict(zip(others, results, strict=True))
    if full_read_after(probes):
        probes["onvif"] = await run_probe("onvif", target, settings)
    if "ptz" in probes:  # read before and after the picture: a patrol may move in between
        probes["ptz"] = _steady(probes["ptz"], await run_probe("ptz", target, settings))
    frames = probes["stream"].frames if "stream" in probes else ()
    video_ok = probes[spec.video_by].ok if spec.video_by in probes else None
    conditions = tier_conditions(spec, probes, video_ok)
    for name, result in probes.items():
        record_probe_failures(name, result.conditions)
    analysis, evidence, thumbnail, period, unjudged = {}, None, None, None, frozenset()
    if frames and spec.analyses_picture:
        current, previous = frames[-1], (frames[0] if len(frames) > 1 else None)
        period = _period(current, vision_settings)
        reference = _reference(period, references or {}, probes.get("ptz"))
        found = await asyncio.to_thread(
            vision.analyze, current, reference=reference, previous=previous,
            settings=vision_settings,
        )  # fmt: skip
        conditions |= found.conditions
        record_probe_failures("picture", found.conditions)
        analysis = found.metrics
        evidence, thumbnail = await asyncio.to_thread(_pictures, current)
        if reference is None:
            unjudged = NEEDS_REFERENCE
        if "ptz" in kinds:  # say whether its view was judged against a preset's reference
            analysis = analysis | {"without_reference": float(reference is None)}
    probes = {name: replace(result, frames=()) for name, result in probes.items()}
    metrics = {f"{name}_{key}": value for name, result in probes.items()
               for key, value in result.metrics.items()}  # fmt: skip
    observed = tier_observed(spec, probes, bool(frames) and spec.analyses_picture) - unjudged
    return TierResult(
        tier, conditions, observed,
        video_ok, metrics | analysis, {"probes": {n: r.to_json() for n, r in probes.items()}},
        evidence_jpeg=evidence, thumbnail_jpeg=thumbnail, clock_offset_s=_clock_offset(probes),
        evidence_size=(current.shape[1], current.shape[0]) if evidence else None,
        camera=target.camera, probes=probes, analysis=analysis, period=period,
    )  # fmt: skip


def _clock_offset(probes: dict[str, ProbeResult]) -> float | None:
    """The camera clock's offset, from the full ONVIF read or the clock read."""
    for name, key in (("onvif", "clock_offset_s"), ("clock", "offset_s")):
        if name in probes and key in probes[name].metrics:
            return probes[name].metrics[key]
    return None


def _with_announced_urls(target: ProbeTarget, onvif: ProbeResult) -> ProbeTarget:
    """Take the stream URLs from ONVIF when the registry has none."""
    profiles = onvif.detail.get("profiles") or []
    uris = [p.get("rtsp_uri") for p in profiles] + [None, None]
    return target.with_urls(uris[0], uris[1])


def _steady(before: ProbeResult, after: ProbeResult) -> ProbeResult:
    """The PTZ position of the check: the later read, at no preset unless the camera sat at
    the same one before the picture was taken and after (it moved in between: `moving`)."""
    if not after.ok or (before.ok and before.detail.get("preset") == after.detail.get("preset")):
        return after
    return replace(after, detail=after.detail | {"preset": None, "moving": before.ok})


def _applies(kind: str, target: ProbeTarget) -> bool:
    """Whether a tier's probe runs on this camera: ONVIF ones need its address, and the PTZ
    position is read on PTZ cameras only."""
    if kind == "ptz":
        return target.ptz and bool(target.onvif_host)
    return bool(target.onvif_host) or kind not in ONVIF_PROBES


def _period(frame: np.ndarray, settings: vision.VisionSettings | None) -> str:
    """Which references a picture is judged by: night for a monochrome (infrared) one."""
    return "night" if vision.is_monochrome(frame, settings) else "day"


def _reference(
    period: str, references: dict[str, bytes | np.ndarray], ptz: ProbeResult | None = None
) -> np.ndarray | None:
    """The reference of the picture's period (day, or night for a monochrome picture); for a
    PTZ camera, that of the preset it sits at (None away from its presets or position unread)."""
    if ptz is None:
        return decode_reference(references.get(period))
    preset = ptz.detail.get("preset") if ptz.ok else None
    if preset is None:
        return None
    return decode_reference(references.get(reference_key(period, preset)))


def _jpeg(frame: np.ndarray, quality: int = EVIDENCE_JPEG_QUALITY) -> bytes | None:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else None


def _pictures(frame: np.ndarray) -> tuple[bytes | None, bytes | None]:
    """The frame as evidence, and at the wall's tile width (never enlarged) as its thumbnail;
    off the event loop, as the analysis (a few milliseconds of encoding)."""
    height, width = frame.shape[:2]
    small = frame
    if width > THUMBNAIL_WIDTH:
        size = (THUMBNAIL_WIDTH, max(1, round(height * THUMBNAIL_WIDTH / width)))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return _jpeg(frame), _jpeg(small, THUMBNAIL_JPEG_QUALITY)
