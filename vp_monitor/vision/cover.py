"""Covered lens (tape, spray paint, a hand, a bag): a large part of the picture lost its texture."""

from __future__ import annotations

import numpy as np

from vp_monitor.vision.frame import Finding, View
from vp_monitor.vision.settings import VisionSettings

# Reference blocks count as "textured" when clearly above the flat threshold, so that a wall
# that was barely textured in the reference does not look covered when the light drops.
TEXTURED_MARGIN = 2.0
# Added to a block's brightness before judging its contrast, so dark sensor noise is not detail.
LUMA_OFFSET = 16.0
# With fewer textured reference blocks than this share, the reference says too little.
MIN_TEXTURED_SHARE = 0.2
# Fewest blocks still showing detail to judge a change of exposure by, and how far their
# brightness ratio must differ from the whole picture's to be trusted instead.
MIN_SEEN_BLOCKS = 6
GAIN_DISAGREEMENT = 1.5


def flat_blocks(view: View, settings: VisionSettings) -> tuple[np.ndarray, np.ndarray]:
    """Blocks without fine detail, and among them those also smooth at block scale."""
    # Texture relative to brightness: an underexposed scene keeps its relative contrast, a lens
    # behind paint or a hand loses it.
    scale = view.block_luma + LUMA_OFFSET
    fine = view.block_texture < settings.flat_contrast * scale
    fine &= view.block_luma <= settings.bright_level  # clipped white is the exposure check's
    # A cover is smooth at every scale; a strongly blurred scene keeps its coarse layout
    # (block-to-block brightness steps), so such blocks are left to the sharpness check.
    smooth = fine & (coarse_steps(view.block_luma) < settings.coarse_contrast * scale)
    return fine, smooth


def textured_blocks(reference: View, settings: VisionSettings) -> np.ndarray | None:
    """Blocks of the reference with clear detail, or None if it has too few to judge by."""
    limit = settings.flat_contrast * TEXTURED_MARGIN * (reference.block_luma + LUMA_OFFSET)
    textured = (reference.block_texture >= limit) & (reference.block_valid >= 1.0)
    return textured if textured.mean() >= MIN_TEXTURED_SHARE else None


def check(
    current: View, reference: View | None, previous: View | None, settings: VisionSettings
) -> Finding:
    """Share of the reference's detailed blocks that turned flat (of all blocks without one)."""
    fine, smooth = flat_blocks(current, settings)
    textured = None
    if reference is not None and reference.block_luma.shape == fine.shape:
        textured = textured_blocks(reference, settings)
    if textured is None:
        covered_fraction = float(smooth.mean())
        threshold = settings.covered_fraction_no_reference
    else:
        # Where the brightness changed too, a flat block is hidden even at the cover's edge,
        # where the step to the still-visible scene makes it look coarse.
        gain = exposure_gain(current, reference, fine)
        changed = np.abs(current.block_luma - gain * reference.block_luma)
        lost = smooth | (fine & (changed >= settings.covered_min_luma_change))
        covered_fraction = float(lost[textured].mean())
        threshold = settings.covered_fraction
    conditions = frozenset({"covered"}) if covered_fraction >= threshold else frozenset()
    metrics = {"covered_fraction": covered_fraction, "flat_fraction": float(smooth.mean())}
    return Finding(conditions, metrics)


def exposure_gain(current: View, reference: View, fine: np.ndarray) -> float:
    """How much brighter the picture is than the reference, to discount a change of exposure.

    Normally the ratio of mean brightness. But a dark or light cover over most of the lens
    drags that mean along: taken as a change of exposure, it would make the covered blocks look
    as expected. When the blocks that still show detail (the scene itself) say the light moved
    far less than the mean did, their ratio is the one to trust.
    """
    overall = float(current.grey.mean()) / max(float(reference.grey.mean()), 1.0)
    seen = ~fine & (reference.block_luma >= 8.0)
    if seen.sum() < MIN_SEEN_BLOCKS:
        return overall
    scene = float(current.block_luma[seen].sum()) / max(
        float(reference.block_luma[seen].sum()), 1.0
    )
    return (
        scene
        if not 1 / GAIN_DISAGREEMENT < scene / max(overall, 1e-3) < GAIN_DISAGREEMENT
        else overall
    )


def coarse_steps(block_luma: np.ndarray) -> np.ndarray:
    """Largest brightness step between each block and its four neighbours."""
    padded = np.pad(block_luma, 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    steps = [
        np.abs(centre - padded[:-2, 1:-1]),
        np.abs(centre - padded[2:, 1:-1]),
        np.abs(centre - padded[1:-1, :-2]),
        np.abs(centre - padded[1:-1, 2:]),
    ]
    return np.maximum.reduce(steps)
