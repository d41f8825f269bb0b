"""Thresholds of the frame checks, embedded as the `[vision]` section of the configuration."""

from __future__ import annotations

from pydantic import Field

from vp_monitor.section import Section


class VisionSettings(Section):
    """Every threshold of the frame analysis; defaults tuned with tools/eval_vision.py."""

    work_width: int = Field(
        default=320, ge=64, le=1920, description="Frames are analysed as a grey copy this wide."
    )
    block_px: int = Field(
        default=16, ge=4, le=64, description="Side of the square blocks used for local texture."
    )
    dark_level: int = Field(
        default=32, ge=0, le=255, description="Grey level under which a pixel counts as dark."
    )
    bright_level: int = Field(
        default=240, ge=0, le=255, description="Grey level over which a pixel counts as clipped."
    )
    black_max_luma: float = Field(
        default=24.0, ge=0, description="A frame darker than this on average may be black."
    )
    black_max_contrast: float = Field(
        default=3.0,
        ge=0,
        description="...and is black when its (smoothed) grey standard deviation is below this.",
    )
    underexposed_max_luma: float = Field(
        default=40.0, ge=0, description="Underexposed when the mean grey level is below this..."
    )
    underexposed_dark_fraction: float = Field(
        default=0.5, ge=0, le=1, description="...and at least this share of pixels is dark."
    )
    underexposed_luma_ratio: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="With a reference: also underexposed when the mean grey level fell below this "
        "fraction of the reference's (and below underexposed_ref_max_luma).",
    )
    underexposed_ref_max_luma: float = Field(
        default=70.0, ge=0, description="Mean grey level above which a frame is never underexposed."
    )
    overexposed_bright_fraction: float = Field(
        default=0.35, ge=0, le=1, description="Overexposed when this share of pixels is clipped."
    )
    overexposed_luma_ratio: float = Field(
        default=1.35,
        ge=1,
        description="With a reference: also overexposed when the mean grey level rose above this "
        "multiple of the reference's and overexposed_min_bright_fraction is clipped.",
    )
    overexposed_min_bright_fraction: float = Field(
        default=0.1, ge=0, le=1, description="Share of clipped pixels needed with a bright rise."
    )
    flat_contrast: float = Field(
        default=0.02,
        ge=0,
        description="A block is flat when its mean gradient is below this fraction of its "
        "brightness (plus 16 grey levels for sensor noise).",
    )
    covered_fraction: float = Field(
        default=0.28,
        ge=0,
        le=1,
        description="Covered when this share of the reference's textured blocks turned flat.",
    )
    coarse_contrast: float = Field(
        default=0.05,
        ge=0,
        description="...and its brightness differs from its neighbour blocks' by less than this "
        "fraction of its brightness (plus 16): a cover is smooth, a blurred scene is not.",
    )
    covered_min_luma_change: float = Field(
        default=20.0,
        ge=0,
        description="With a reference, a block without fine detail whose brightness moved this "
        "far (grey levels, after global gain) counts as covered even at the cover's edge.",
    )
    covered_fraction_no_reference: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Without a reference: covered when this share of all blocks is flat.",
    )
    blurred_sharpness_ratio: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Blurred when sharpness falls below this fraction of the reference's.",
    )
    blurred_min_sharpness: float = Field(
        default=0.01,
        ge=0,
        description="Without a reference: blurred only when sharpness is below this (extreme).",
    )
    frozen_max_peak_diff: float = Field(
        default=5.0,
        ge=0,
        description="Frozen only if no block changed by more than this (grey levels) since the "
        "previous frame: a moving person or vehicle exceeds it.",
    )
    frozen_noise_ratio: float = Field(
        default=0.6,
        ge=0,
        description="Frozen when the difference to the previous frame is below this fraction of "
        "what the frame's own sensor noise predicts for two independent captures.",
    )
    frozen_max_diff: float = Field(
        default=2.5,
        ge=0,
        description="...or below this mean absolute difference (grey levels), whatever the noise.",
    )
    moved_min_shift_pct: float = Field(
        default=4.0,
        ge=0,
        description="Moved when the matched transform displaces the frame's points (a grid, "
        "corners included) by more than this % of the frame on average.",
    )
    moved_min_rotation_deg: float = Field(
        default=2.0, ge=0, description="Moved when the view rotated by more than this (degrees)."
    )
    moved_min_inliers: int = Field(
        default=10,
        ge=3,
        description="Feature matches needed to trust the estimated shift and rotation.",
    )
    moved_min_inlier_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="...and this share of the candidate matches must agree (a blurred or covered "
        "view yields few, random matches).",
    )
    moved_max_in_place_share: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="Also moved (the view is elsewhere) when less than this share of the "
        "frame's tiles with edges (those nothing crossed since the previous frame) shows the "
        "reference's edges in place, no transform explains the frame, the frame is a fair "
        "picture and the reference is recognisable.",
    )
    moved_min_reference_features: int = Field(
        default=40,
        ge=0,
        description="...the reference is recognisable: a lightly degraded copy of it finds at "
        "least this many of its features back in place.",
    )
    moved_min_detail_ratio: float = Field(
        default=0.45,
        ge=0,
        description="...the frame is a fair picture: blocks with fine detail at least this share "
        "of the reference's (a blurred or covered frame has few), not blurred (sharpness at least "
        "blurred_sharpness_ratio of the reference's), at least half its brightness and less "
        "than overexposed_min_bright_fraction clipped.",
    )
    orb_features: int = Field(
        default=300, ge=50, description="Number of ORB features detected per frame."
    )
    monochrome_max_chroma: float = Field(
        default=3.0,
        ge=0,
        description="Monochrome (infrared night mode) when channels differ by less than this.",
    )
