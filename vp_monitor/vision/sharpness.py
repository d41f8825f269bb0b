"""Focus: fine detail compared with the camera's own reference image."""

from __future__ import annotations

import cv2

from vp_monitor.vision.frame import Finding, View
from vp_monitor.vision.settings import VisionSettings


def sharpness(view: View) -> float:
    """Variance of the Laplacian over the grey variance: fine detail, blind to lighting gain."""
    # On the lightly smoothed copy: sensor noise (strong at night) would otherwise pass for detail.
    laplacian = cv2.Laplacian(view.smooth, cv2.CV_32F, ksize=1)
    return float(laplacian.var() / (view.smooth.var() + 1.0))


def check(
    current: View, reference: View | None, previous: View | None, settings: VisionSettings
) -> Finding:
    """Blurred when detail fell well below the reference's; without one, only when extreme."""
    value = sharpness(current)
    metrics = {"sharpness": value}
    if reference is None:
        blurred = value < settings.blurred_min_sharpness
    else:
        ratio = value / max(sharpness(reference), 1e-6)
        metrics["sharpness_ratio"] = ratio
        blurred = ratio < settings.blurred_sharpness_ratio
    return Finding(frozenset({"blurred"}) if blurred else frozenset(), metrics)
