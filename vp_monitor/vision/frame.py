"""A frame reduced once to what the checks read: a small grey copy and its derived maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np


def to_grey(frame: np.ndarray, width: int) -> np.ndarray:
    """Return a grey uint8 copy of a BGR (or grey) frame, downscaled to `width` pixels."""
    if frame is None or frame.ndim not in (2, 3) or frame.size == 0:
        raise ValueError("frame must be a non-empty BGR or grey image")
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        grey = cv2.cvtColor(
            frame, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        )
    else:
        grey = frame.reshape(frame.shape[:2])
    grey = grey if grey.dtype == np.uint8 else cv2.convertScaleAbs(grey)
    h, w = grey.shape
    if w > width:
        grey = cv2.resize(grey, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return grey


def block_means(image: np.ndarray, block: int) -> np.ndarray:
    """Mean of `image` over each full `block`x`block` tile."""
    h, w = image.shape
    rows, cols = max(1, h // block), max(1, w // block)
    tiles = image[: rows * block, : cols * block] if h >= block and w >= block else image
    return cv2.resize(tiles.astype(np.float32), (cols, rows), interpolation=cv2.INTER_AREA)


@dataclass
class View:
    """One analysed frame; derived maps are computed on first use and shared by the checks."""

    grey: np.ndarray
    block: int = field(default=16)
    # Share of each pixel that shows real picture (1) rather than padding (0): a reference
    # realigned onto a moved view has no picture where the new view sees new ground.
    valid: np.ndarray | None = None

    @cached_property
    def block_valid(self) -> np.ndarray:
        if self.valid is None:
            return np.ones_like(self.block_luma)
        return block_means(self.valid, self.block)

    @cached_property
    def smooth(self) -> np.ndarray:
        # A light blur keeps scene structure but drops most sensor noise from texture measures.
        return cv2.GaussianBlur(self.grey, (0, 0), 1.0).astype(np.float32)

    @cached_property
    def gradient(self) -> np.ndarray:
        gx = cv2.Sobel(self.smooth, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(self.smooth, cv2.CV_32F, 0, 1, ksize=3)
        return (np.abs(gx) + np.abs(gy)) / 8.0

    @cached_property
    def block_texture(self) -> np.ndarray:
        return block_means(self.gradient, self.block)

    @cached_property
    def block_luma(self) -> np.ndarray:
        return block_means(self.grey, self.block)

    @cached_property
    def noise_level(self) -> float:
        # Sensor noise: residual from a 3x3 median, measured where the scene itself is flat so
        # that edges and fine texture do not count as noise.
        residual = cv2.absdiff(self.grey, cv2.medianBlur(self.grey, 3)).astype(np.float32)
        sample = self.gradient[::2, ::2].ravel()
        flat = self.gradient <= np.partition(sample, sample.size // 2)[sample.size // 2]
        return float(residual[flat].mean()) if flat.any() else 0.0


@dataclass(frozen=True)
class Finding:
    """What one check concluded: the conditions it raises and the metrics that explain them."""

    conditions: frozenset[str] = frozenset()
    metrics: dict[str, float] = field(default_factory=dict)
    # The reference realigned onto the current view, for the checks that follow.
    aligned_reference: View | None = None
    # The reference shows nothing of the current view: the checks that follow go without it.
    reference_lost: bool = False
    # Conditions this check's evidence rules out on this frame, if another check raises them.
    ruled_out: frozenset[str] = frozenset()
