"""Frame analysis: pure functions that tell a working picture from a black, frozen, blurred,
covered or moved one. Numpy in, findings out, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from vp_monitor import conditions
from vp_monitor.vision import cover, exposure, geometry, motion, sharpness
from vp_monitor.vision.frame import Finding, View, to_grey
from vp_monitor.vision.settings import VisionSettings

__all__ = ["CHECKS", "Analysis", "VisionSettings", "analyze", "is_monochrome"]

# The monitor analyses many frames side by side (one per camera, in threads): OpenCV's own
# thread pool only adds hand-offs there (0.93 ms of CPU per frame single-threaded, 1.46 ms not).
cv2.setNumThreads(1)

Check = Callable[[View, View | None, View | None, VisionSettings], Finding]

# Every check, in one table: name -> function(current, reference, previous, settings).
# Geometry runs first: when the camera moved, the others compare against the realigned reference.
CHECKS: dict[str, Check] = {
    "geometry": geometry.check,
    "exposure": exposure.check,
    "cover": cover.check,
    "sharpness": sharpness.check,
    "motion": motion.check,
}

# A frame shows one clear cause: a black or covered picture is also flat, unsharp, unchanging
# and unmatchable, so those follow-on conditions are dropped instead of reported as extra faults.
# In priority order: a condition masks others only if it was not masked itself. The condition
# table (vp_monitor/conditions.py, column `masks`) holds them, in that order.
MASKS: tuple[tuple[str, frozenset[str]], ...] = conditions.masks()


@dataclass(frozen=True)
class Analysis:
    """Conditions found on a frame and the metrics that explain them."""

    conditions: frozenset[str] = frozenset()
    metrics: dict[str, float] = field(default_factory=dict)


def analyze(
    current: np.ndarray,
    *,
    reference: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    settings: VisionSettings | None = None,
) -> Analysis:
    """Analyse a BGR frame, optionally against the camera's reference and its previous frame."""
    settings = settings or VisionSettings()

    def view(frame: np.ndarray | None) -> View | None:
        if frame is None:
            return None
        return View(to_grey(frame, settings.work_width), settings.block_px)

    cur, ref, prev = view(current), view(reference), view(previous)
    conditions: set[str] = set()
    ruled_out: set[str] = set()
    metrics: dict[str, float] = {}
    for check in CHECKS.values():
        finding = check(cur, ref, prev, settings)
        conditions |= finding.conditions
        ruled_out |= finding.ruled_out
        metrics |= finding.metrics
        ref = None if finding.reference_lost else finding.aligned_reference or ref
    conditions -= ruled_out
    for condition, masked in MASKS:
        if condition in conditions:
            conditions -= masked
    return Analysis(frozenset(conditions), metrics)


def is_monochrome(frame: np.ndarray, settings: VisionSettings | None = None) -> bool:
    """True for a grey picture (infrared night mode): colour channels nearly equal."""
    settings = settings or VisionSettings()
    if frame.ndim == 2 or frame.shape[2] == 1:
        return True
    small = frame[::4, ::4].astype(np.int16)
    chroma = np.abs(small[..., 0] - small[..., 1]) + np.abs(small[..., 1] - small[..., 2])
    return float(chroma.mean()) / 2.0 < settings.monochrome_max_chroma
