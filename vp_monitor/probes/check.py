"""One complete check of a camera: every probe once, then the frame analysis, then a state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vp_monitor import vision
from vp_monitor.probes.base import DOWN_CONDITIONS, ProbeResult, ProbeSettings, ProbeTarget
from vp_monitor.probes.runner import run_probe

EVIDENCE_JPEG_QUALITY = 85


@dataclass(frozen=True)
class CheckReport:
    """The outcome of one check: state, conditions, per-probe detail and the evidence picture."""

    camera: str
    state: str
    conditions: list[str]
    probes: dict[str, ProbeResult]
    analysis: dict[str, float] = field(default_factory=dict)
    evidence_jpeg: bytes | None = field(default=None, repr=False)
    frame: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def clock_offset_s(self) -> float | None:
        """The camera clock's offset measured by the ONVIF probe (kept for the digest)."""
        onvif = self.probes.get("onvif")
        return onvif.metrics.get("clock_offset_s") if onvif else None

    def to_json(self) -> dict[str, Any]:
        """The `vp-monitor check --json` record."""
        probes = {name: result.to_json() for name, result in self.probes.items()}
        if self.analysis:
            probes["vision"] = {"metrics": {k: round(v, 4) for k, v in self.analysis.items()}}
        return {"camera": self.camera, "state": self.state, "conditions": self.conditions,
                "probes": probes}  # fmt: skip


def camera_state(conditions: set[str], has_video: bool) -> str:
    """down when there is no usable video, degraded for any other condition, else ok."""
    if conditions & DOWN_CONDITIONS and not has_video:
        return "down"
    return "degraded" if conditions else "ok"


def decode_reference(data: bytes | np.ndarray | None) -> np.ndarray | None:
    """A reference image as a BGR array (JPEG/PNG bytes are decoded)."""
    if data is None or isinstance(data, np.ndarray):
        return data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image


async def check_camera(
    target: ProbeTarget,
    settings: ProbeSettings,
    references: dict[str, bytes | np.ndarray] | None = None,
    vision_settings: vision.VisionSettings | None = None,
) -> CheckReport:
    """Run ONVIF (if any), RTSP and stream probes, analyse the picture, and decide the state."""
    results: dict[str, ProbeResult] = {}
    if target.onvif_host:
        results["onvif"] = await run_probe("onvif", target, settings)
        target = _with_announced_urls(target, results["onvif"])
    if target.rtsp_main or target.rtsp_sub:
        rtsp, stream = await asyncio.gather(
            run_probe("rtsp", target, settings), run_probe("stream", target, settings)
        )
        results |= {"rtsp": rtsp, "stream": stream}
    conditions = set().union(*(r.conditions for r in results.values()))
    if not results:
        conditions.add("rtsp_error")  # nothing to look at: the registry entry is incomplete
    frames = results["stream"].frames if "stream" in results else ()
    analysis, evidence, current = {}, None, None
    if frames:
        current, previous = frames[-1], (frames[0] if len(frames) > 1 else None)
        reference = _reference(current, references or {}, vision_settings)
        found = await asyncio.to_thread(
            vision.analyze, current, reference=reference, previous=previous,
            settings=vision_settings,
        )  # fmt: skip
        conditions |= found.conditions
        analysis = found.metrics
        evidence = _jpeg(current)
    state = camera_state(conditions, bool(frames))
    return CheckReport(target.camera, state, sorted(conditions), results, analysis, evidence,
                       current)  # fmt: skip


def _with_announced_urls(target: ProbeTarget, onvif: ProbeResult) -> ProbeTarget:
    """Take the stream URLs from ONVIF when the registry has none."""
    profiles = onvif.detail.get("profiles") or []
    uris = [p.get("rtsp_uri") for p in profiles] + [None, None]
    return target.with_urls(uris[0], uris[1])


def _reference(
    frame: np.ndarray, references: dict[str, Any], settings: vision.VisionSettings | None
) -> np.ndarray | None:
    """The night reference for a monochrome (infrared) picture, else the day one."""
    kind = "night" if vision.is_monochrome(frame, settings) else "day"
    return decode_reference(references.get(kind))


def _jpeg(frame: np.ndarray) -> bytes | None:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
    return data.tobytes() if ok else None
