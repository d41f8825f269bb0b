"""The pan-tilt-zoom head of a simulated PTZ camera: its presets, home, the position it reports,
a patrol tour cycling the presets, and the view it films at a position.

Positions are ONVIF's generic spaces: pan and tilt in [-1, 1], zoom in [0, 1]. The view is the
scene shifted by the pan and tilt and magnified by the zoom, so each preset shows another part
of the scene (enough for a `moved` check to tell them apart) and home (0, 0, 0) is the scene.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

Position = tuple[float, float, float]  # pan, tilt, zoom
HOME_VIEW: Position = (0.0, 0.0, 0.0)
# How far a full pan or tilt shifts the view, as a share of the frame, and a full zoom's scale.
PAN_SHARE, TILT_SHARE, ZOOM_SCALE = 0.5, 0.5, 1.0
MIN_DWELL_S = 0.5


@dataclass(frozen=True)
class Preset:
    """A stored position, addressed by its ONVIF token."""

    token: str
    name: str
    position: Position


DEFAULT_PRESETS = (
    Preset("1", "Home", HOME_VIEW),
    Preset("2", "Parvis", (0.6, 0.1, 0.0)),
    Preset("3", "Carrefour", (-0.5, -0.3, 0.4)),
)


def clamp(position: Position) -> Position:
    """A position inside the generic spaces, rounded (a move is a few steps of a motor)."""
    pan, tilt, zoom = position
    return (round(max(-1.0, min(1.0, pan)), 3), round(max(-1.0, min(1.0, tilt)), 3),
            round(max(0.0, min(1.0, zoom)), 3))  # fmt: skip


@dataclass
class PtzHead:
    """Presets, home and the position now; `broken` makes the PTZ service answer faults."""

    presets: tuple[Preset, ...] = DEFAULT_PRESETS
    home: str = "1"
    position: Position = HOME_VIEW
    broken: bool = False
    patrol_dwell_s: float | None = None  # None: not patrolling
    moved_at: float = field(default_factory=time.monotonic)

    def preset(self, token: str) -> Preset:
        """The preset of this token; KeyError when there is none."""
        for preset in self.presets:
            if preset.token == token:
                return preset
        raise KeyError(token)

    def move(self, position: Position) -> None:
        """Go to `position` at once (the simulated motors are instantaneous)."""
        self.position, self.moved_at = clamp(position), time.monotonic()

    def goto_preset(self, token: str) -> None:
        self.move(self.preset(token).position)

    def goto_home(self) -> None:
        self.goto_preset(self.home)


async def patrol(head: PtzHead, on_move: Callable[[], None]) -> None:
    """Cycle the presets, `head.patrol_dwell_s` at each, until patrolling is switched off;
    `on_move()` tells the camera its picture changed."""
    index = 0
    while head.patrol_dwell_s is not None:
        preset = head.presets[index % len(head.presets)]
        head.goto_preset(preset.token)
        on_move()
        index += 1
        await asyncio.sleep(max(MIN_DWELL_S, head.patrol_dwell_s))


def ptz_view(img: np.ndarray, position: Position) -> np.ndarray:
    """What the camera films at `position`: the scene shifted by pan/tilt, magnified by zoom
    about the centre (edges mirrored where the shift runs out of scene)."""
    if position == HOME_VIEW:
        return img
    pan, tilt, zoom = position
    h, w = img.shape[:2]
    scale = 1.0 + ZOOM_SCALE * zoom
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
    matrix[0, 2] -= pan * PAN_SHARE * w
    matrix[1, 2] -= tilt * TILT_SHARE * h
    return cv2.warpAffine(img, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
