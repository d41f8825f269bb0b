"""Black frames and exposure: how much of the picture is crushed to black or clipped to white."""

from __future__ import annotations

import numpy as np

from vp_monitor.vision.frame import Finding, View
from vp_monitor.vision.settings import VisionSettings


def is_black(mean_luma: float, contrast: float, settings: VisionSettings) -> bool:
    """Dark and featureless: no signal, lens capped, or the sensor gave up."""
    return mean_luma < settings.black_max_luma and contrast < settings.black_max_contrast


def is_underexposed(metrics: dict[str, float], settings: VisionSettings) -> bool:
    """Dark but still a picture: absolutely dark, or much darker than the reference."""
    if metrics["mean_luma"] >= settings.underexposed_ref_max_luma:
        return False
    dark = (
        metrics["mean_luma"] < settings.underexposed_max_luma
        and metrics["dark_fraction"] >= settings.underexposed_dark_fraction
    )
    return dark or metrics.get("luma_ratio", 1.0) < settings.underexposed_luma_ratio


def is_overexposed(metrics: dict[str, float], settings: VisionSettings) -> bool:
    """Clipped white: a large clipped share, or a clear brightening with clipping."""
    bright = metrics["bright_fraction"]
    brighter = metrics.get("luma_ratio", 1.0) > settings.overexposed_luma_ratio
    return bright >= settings.overexposed_bright_fraction or (
        brighter and bright >= settings.overexposed_min_bright_fraction
    )


def check(
    current: View, reference: View | None, previous: View | None, settings: VisionSettings
) -> Finding:
    """Black, underexposed or overexposed, against the reference's brightness when known."""
    grey = current.grey
    metrics = {
        "mean_luma": float(grey.mean()),
        "contrast": float(current.smooth.std()),
        "dark_fraction": float(np.count_nonzero(grey < settings.dark_level)) / grey.size,
        "bright_fraction": float(np.count_nonzero(grey > settings.bright_level)) / grey.size,
    }
    if reference is not None:
        metrics["luma_ratio"] = metrics["mean_luma"] / max(float(reference.grey.mean()), 1.0)
    conditions = set()
    if is_black(metrics["mean_luma"], metrics["contrast"], settings):
        conditions.add("black")
    elif is_underexposed(metrics, settings):
        conditions.add("underexposed")
    if is_overexposed(metrics, settings):
        conditions.add("overexposed")
    return Finding(frozenset(conditions), metrics)
