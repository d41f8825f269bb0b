"""tools/bench_false_incidents.py: its drift generator and incident counter work, and can fail."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_tool():
    spec = importlib.util.spec_from_file_location(
        "bench_false_incidents", ROOT / "tools" / "bench_false_incidents.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return load_tool()


def procedural_camera(tool, index: int = 0):
    camera = tool.make_camera(index, seed=3, procedural_share=1.0)
    assert camera.scene.startswith("procedural:")
    return camera


def test_the_drift_goes_through_day_twilight_and_infrared_night(tool):
    """Over a day the light drifts: a day picture, a darker twilight, a monochrome night."""
    camera = procedural_camera(tool)
    traits = tool.day_traits(camera, 0)
    noon = (traits["day_from"] + traits["night_from"]) / 2
    assert not tool.light_at(camera, noon).night
    assert tool.light_at(camera, traits["night_from"] - 60).dusk > 0.9
    assert tool.light_at(camera, traits["night_from"] + 60).night
    shooter = tool.Shooter(camera, tool.Scenes(None))
    import numpy as np

    from vp_monitor import vision

    rng = np.random.default_rng(0)
    day, _ = shooter.frame(noon, rng)
    night, _ = shooter.frame(traits["night_from"] + 3600, rng)
    assert not vision.is_monochrome(day) and vision.is_monochrome(night)


@pytest.mark.timeout(60)
def test_a_healthy_camera_gives_no_incident_and_a_black_one_is_counted(tool):
    """Half a day of checks of a healthy camera opens nothing; the same camera with black
    frames for 20 minutes opens an incident (so the counter can fail)."""
    scenes = tool.Scenes(None)
    healthy = tool.run_camera(procedural_camera(tool), 0.5, scenes)
    assert healthy.checks >= 140  # every 300 s, jittered
    assert healthy.incidents == []
    fault = tool.Fault("black frames", start_s=6 * 3600, duration_s=1200)
    faulty = tool.run_camera(procedural_camera(tool), 0.5, scenes, fault=fault)
    assert len(faulty.incidents) == 1
    incident = faulty.incidents[0]
    assert incident.conditions == ["black"]
    assert fault.start_s <= incident.at_s <= fault.start_s + 900  # confirmed by the retry
    assert incident.cause.startswith("injected black frames")
    assert faulty.retries >= 1
    result = tool.summary([healthy, faulty], 1.0, 3, 0.0)
    assert result["false_incidents"] == 1 and result["per_1000_camera_days"] == 1000.0
