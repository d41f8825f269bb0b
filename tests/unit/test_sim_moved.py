"""The simulator's `moved` fault as the monitor's analysis sees it: a shifted view, and a
camera tilted on its mount (`tilt_deg`), whose scene comes in another perspective."""

from __future__ import annotations

import pytest

from vp_monitor import vision
from vp_monitor.sim.scene import fault_frames


def frames(fault: str = "none", **params) -> list:
    return list(fault_frames("procedural:3", 640, 360, 10, 40, fault, params))


@pytest.fixture(scope="module")
def reference():
    return frames()[0]


def test_tilted_camera_is_moved_in_perspective(reference):
    tilted = frames("moved", tilt_deg=6)
    result = vision.analyze(tilted[-1], reference=reference, previous=tilted[-30])
    assert "moved" in result.conditions, result.metrics
    # Mostly a vertical shift of the scene (tan 6 degrees of the focal length: 9 % of the
    # frame), with the keystone of the new perspective.
    assert result.metrics["moved_displacement"] == 1.0
    assert abs(result.metrics["shift_y_pct"]) > 4.0


def test_shifted_view_is_moved_and_the_home_view_is_not(reference):
    shifted = frames("moved", dx=0.2, dy=0.15)
    assert "moved" in vision.analyze(shifted[-1], reference=reference).conditions
    home = frames()
    result = vision.analyze(home[-1], reference=reference, previous=home[-30])
    assert "moved" not in result.conditions, result.metrics
