"""Frame analysis on synthetic frames: each condition on a clear case, none on a live scene."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from vp_monitor.vision import Analysis, VisionSettings, analyze, is_monochrome

W, H = 640, 360


def scene(seed: int = 0, size: tuple[int, int] = (900, 600), grey: bool = False) -> np.ndarray:
    """A textured street-like background larger than the view, so a view can move over it."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.full((h, w, 3), 110, np.float32)
    for _ in range(120):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        dx, dy = int(rng.integers(10, 120)), int(rng.integers(10, 120))
        cv2.rectangle(img, (x, y), (x + dx, y + dy), rng.uniform(30, 220, 3).tolist(), -1)
    for _ in range(60):
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(img, p1, p2, rng.uniform(0, 255, 3).tolist(), int(rng.integers(1, 3)))
    if grey:
        img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    return img


def view(
    source: np.ndarray,
    *,
    dx: float = 0,
    dy: float = 0,
    angle: float = 0,
    gain: float = 1.0,
    noise: float = 1.5,
    people: int = 0,
    seed: int = 1,
) -> np.ndarray:
    """What the camera sees: a window of `source`, optional people, lighting gain, sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = source.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2 + dx, h / 2 + dy), angle, 1.0)
    m[0, 2] += W / 2 - w / 2 - dx
    m[1, 2] += H / 2 - h / 2 - dy
    img = cv2.warpAffine(source, m, (W, H))
    for _ in range(people):
        x, y = int(rng.integers(0, W - 30)), int(rng.integers(0, H - 70))
        cv2.rectangle(img, (x, y), (x + 22, y + 60), rng.uniform(0, 255, 3).tolist(), -1)
    img = img * gain + rng.normal(0, noise, (H, W, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG, like a camera's encoder."""
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], 1)


@pytest.fixture(scope="module")
def street() -> np.ndarray:
    return scene(0)


@pytest.fixture(scope="module")
def reference(street) -> np.ndarray:
    return jpeg(view(street, seed=10), 90)


def test_live_scene_raises_nothing(street, reference):
    """A live scene with people walking, lighting drift and 1 px vibration raises no condition."""
    for seed, gain in ((1, 0.8), (2, 1.2), (3, 1.0)):
        previous = jpeg(view(street, dx=1, gain=gain, people=4, seed=seed), 80)
        current = jpeg(view(street, dy=1, gain=gain, people=4, seed=seed + 100), 75)
        result = analyze(current, reference=reference, previous=previous)
        assert result.conditions == frozenset(), result.metrics


def test_black_frame(reference):
    """A dark, featureless frame is black and only black."""
    rng = np.random.default_rng(0)
    black = np.clip(8 + rng.normal(0, 1.5, (H, W, 3)), 0, 255).astype(np.uint8)
    result = analyze(black, reference=reference, previous=black.copy())
    assert result.conditions == {"black"}


def test_underexposed_is_not_black(street, reference):
    """A dark frame that still shows the scene is underexposed, not black nor covered."""
    dark = jpeg(view(street, gain=0.22, people=2), 85)
    result = analyze(dark, reference=reference)
    assert result.conditions == {"underexposed"}, result.metrics


def test_overexposed(street, reference):
    """A frame mostly clipped to white is overexposed."""
    bright = jpeg(view(street, gain=3.0), 85)
    assert "overexposed" in analyze(bright, reference=reference).conditions


def test_frozen_frame_reencoded(street, reference):
    """The same picture encoded twice (not bit-identical) is frozen."""
    still = view(street, people=3)
    result = analyze(jpeg(still, 70), reference=reference, previous=jpeg(still, 90))
    assert result.conditions == {"frozen"}
    assert 0 < result.metrics["frame_diff"] < 2.5


def test_live_scene_is_not_frozen(street, reference):
    """One person moving a few seconds apart is enough to prove the picture is live."""
    previous = jpeg(view(street, people=1, seed=1), 80)
    current = jpeg(view(street, people=1, seed=2), 80)
    assert "frozen" not in analyze(current, reference=reference, previous=previous).conditions


def test_still_noisy_night_scene_is_not_frozen():
    """A still monochrome night scene changes only by sensor noise, which proves it is live."""
    night = scene(3, grey=True) * 0.6
    reference = jpeg(view(night, noise=7, seed=1), 85)
    previous = jpeg(view(night, noise=7, seed=2), 85)
    current = jpeg(view(night, noise=7, seed=3), 85)
    assert analyze(current, reference=reference, previous=previous).conditions == frozenset()
    still = view(night, noise=7, seed=4)
    frozen = analyze(jpeg(still, 80), reference=reference, previous=jpeg(still, 90))
    assert frozen.conditions == {"frozen"}


def test_blurred_relative_to_reference(street, reference):
    """A defocused picture is blurred against its sharp reference."""
    blurred = jpeg(cv2.GaussianBlur(view(street), (0, 0), 3), 85)
    result = analyze(blurred, reference=reference)
    assert result.conditions == {"blurred"}
    assert result.metrics["sharpness_ratio"] < 0.5


def test_soft_scene_is_not_blurred_without_reference():
    """A naturally soft scene is not called blurred when there is no reference to compare with."""
    soft = jpeg(cv2.GaussianBlur(view(scene(4)), (0, 0), 1.5), 85)
    assert "blurred" not in analyze(soft).conditions


def test_soft_reference_keeps_soft_scene_ok():
    """A scene as soft as its own reference is not blurred: sharpness is relative."""
    soft = cv2.GaussianBlur(scene(5), (0, 0), 2.5)
    result = analyze(jpeg(view(soft, seed=2), 85), reference=jpeg(view(soft, seed=1), 85))
    assert "blurred" not in result.conditions


@pytest.mark.parametrize("level", [40, 200])
def test_covered_dark_or_light(street, reference, level):
    """A smooth dark or light object over 80% of the lens is covered."""
    frame = view(street).astype(np.float32)
    mask = np.zeros((H, W, 1), np.float32)
    mask[: int(H * 0.8)] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), 6)[..., None]
    shade = level + 10 * np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
    covered = np.clip(frame * (1 - mask) + shade * mask, 0, 255).astype(np.uint8)
    result = analyze(jpeg(covered, 85), reference=reference)
    assert result.conditions == {"covered"}, result.metrics
    assert result.metrics["covered_fraction"] > 0.5


def test_hand_over_lens(street, reference):
    """An out-of-focus hand filling the view is covered, with or without a reference."""
    hand = np.zeros((H, W, 3), np.float32)
    cv2.ellipse(hand, (W // 2, H), (W // 2, H), 0, 0, 360, (90, 120, 170), -1)
    hand = cv2.GaussianBlur(hand + 30, (0, 0), 15)
    frame = jpeg(np.clip(hand, 0, 255).astype(np.uint8), 85)
    assert analyze(frame, reference=reference).conditions == {"covered"}
    assert analyze(frame).conditions == {"covered"}


@pytest.mark.parametrize("dx_pct,dy_pct", [(10, 0), (0, -15), (-12, 8)])
def test_moved_shift_estimate(street, reference, dx_pct, dy_pct):
    """A panned/tilted view is moved, and the shift is measured within 2% of the truth."""
    current = jpeg(view(street, dx=W * dx_pct / 100, dy=H * dy_pct / 100, people=3), 85)
    result = analyze(current, reference=reference)
    assert result.conditions == {"moved"}
    # The scene slides the opposite way to the camera.
    assert result.metrics["shift_x_pct"] == pytest.approx(-dx_pct, abs=2)
    assert result.metrics["shift_y_pct"] == pytest.approx(-dy_pct, abs=2)


def test_moved_rotation(street, reference):
    """A rolled camera is moved and the rotation is measured within a degree."""
    result = analyze(jpeg(view(street, angle=6), 85), reference=reference)
    assert "moved" in result.conditions
    assert abs(result.metrics["rotation_deg"]) == pytest.approx(6, abs=1)


def test_small_vibration_is_not_moved(street, reference):
    """A 2 px vibration stays far below the moved threshold."""
    result = analyze(jpeg(view(street, dx=2, dy=-1), 85), reference=reference)
    assert "moved" not in result.conditions
    assert abs(result.metrics["shift_x_pct"]) < 1


def test_analysis_shape_and_any_size(street):
    """Any frame size works; the result is a frozen Analysis with float metrics only."""
    small = cv2.resize(view(street), (160, 90))
    result = analyze(small, reference=small, previous=small)
    assert isinstance(result, Analysis)
    assert all(isinstance(v, float) for v in result.metrics.values())
    with pytest.raises(AttributeError):
        result.conditions = frozenset()  # type: ignore[misc]


def test_is_monochrome():
    """A grey (infrared) frame is monochrome, a colour scene is not."""
    colour = view(scene(0))
    assert not is_monochrome(colour)
    assert is_monochrome(cv2.cvtColor(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    assert is_monochrome(np.zeros((10, 10), np.uint8))


def test_settings_reject_unknown_keys_and_are_documented():
    """VisionSettings rejects unknown keys and documents every field."""
    with pytest.raises(ValidationError):
        VisionSettings(no_such_threshold=1)
    assert all(field.description for field in VisionSettings.model_fields.values())
    assert VisionSettings(covered_fraction=0.5).covered_fraction == 0.5
