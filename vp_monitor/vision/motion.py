"""Frozen picture: the encoder keeps sending frames but the scene behind them stopped changing."""

from __future__ import annotations

import cv2

from vp_monitor.vision.frame import Finding, View, block_means
from vp_monitor.vision.settings import VisionSettings

# Mean absolute difference of two independent captures with the same sensor noise, per unit of
# the median-residual noise estimate (View.noise_level): 1.55 measured on flat frames with
# Gaussian noise of sigma 2 to 8; rounded up.
NOISE_TO_DIFF = 1.6


def check(
    current: View, reference: View | None, previous: View | None, settings: VisionSettings
) -> Finding:
    """Frozen when nothing moved locally and the change is far below the sensor noise."""
    if previous is None or previous.grey.shape != current.grey.shape:
        return Finding()
    diff = cv2.absdiff(current.grey, previous.grey)
    frame_diff = float(diff.mean())
    peak_diff = float(block_means(diff, current.block).max())
    expected = NOISE_TO_DIFF * current.noise_level
    metrics = {
        "frame_diff": frame_diff,
        "peak_diff": peak_diff,
        "noise_level": current.noise_level,
        "noise_diff_ratio": frame_diff / max(expected, 0.01),
    }
    still = peak_diff < settings.frozen_max_peak_diff
    quiet = frame_diff < max(settings.frozen_max_diff, settings.frozen_noise_ratio * expected)
    return Finding(frozenset({"frozen"}) if still and quiet else frozenset(), metrics)
