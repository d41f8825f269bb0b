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


def turned(source: np.ndarray, *, pan=0.0, tilt=0.0, roll=0.0, zoom=1.0, hfov=90.0, keystone=None):
    """The view of `source` after the camera turned (degrees), zoomed, or was re-seated and
    aimed at the same point (`keystone`: perspective about the centre): a homography."""
    h, w = source.shape[:2]
    f = (W / 2) / np.tan(np.radians(hfov) / 2)
    k = np.array([[f * zoom, 0, W / 2], [0, f * zoom, H / 2], [0, 0, 1]])
    k0 = np.array([[f, 0, W / 2], [0, f, H / 2], [0, 0, 1]])
    rotation = cv2.Rodrigues(np.radians([tilt, pan, roll]))[0]
    window = np.array([[1, 0, W / 2 - w / 2], [0, 1, H / 2 - h / 2], [0, 0, 1]])
    matrix = k @ rotation @ np.linalg.inv(k0) @ window
    if keystone is not None:
        centre = np.array([[1, 0, W / 2], [0, 1, H / 2], [0, 0, 1]])
        perspective = np.array([[1, 0, 0], [0, 1, 0], [keystone[0] / W, keystone[1] / H, 1]])
        matrix = centre @ perspective @ np.linalg.inv(centre) @ matrix
    img = cv2.warpPerspective(source, matrix, (W, H), borderMode=cv2.BORDER_REFLECT101)
    noisy = img + np.random.default_rng(3).normal(0, 1.5, (H, W, 1))
    return jpeg(np.clip(noisy, 0, 255).astype(np.uint8), 85)


@pytest.mark.parametrize("keystone", [(0, 0.3), (0.4, 0), (0, -0.5)])
def test_reseated_camera_aimed_at_same_point_is_moved(street, reference, keystone):
    """Re-seated on another bracket and aimed at the same point, the camera sees its scene in
    another perspective: the centre stays, the frame's corners move. Moved, by displacement."""
    result = analyze(turned(street, keystone=keystone), reference=reference)
    assert "moved" in result.conditions, result.metrics
    assert result.metrics["moved_displacement"] == 1.0
    assert result.metrics["homography"] == 1.0
    assert abs(result.metrics["shift_x_pct"]) < 1 and abs(result.metrics["shift_y_pct"]) < 1


@pytest.mark.parametrize(
    "change",
    [{"tilt": 5}, {"tilt": -8, "hfov": 100}, {"pan": 4, "tilt": 3, "roll": 2, "hfov": 60}],
    ids=["tilt-5", "tilt-8-wide", "turned"],
)
def test_camera_turned_is_moved(street, reference, change):
    """A camera tilted or turned sees its scene through a homography: moved, by displacement."""
    result = analyze(turned(street, **change), reference=reference)
    assert "moved" in result.conditions, result.metrics
    assert result.metrics["displacement_pct"] > 4.0


@pytest.mark.parametrize("zoom", [1.25, 0.8])
def test_zoom_change_is_moved(street, reference, zoom):
    """A zoom changed about the centre leaves the centre in place but not the frame: moved."""
    result = analyze(turned(street, zoom=zoom), reference=reference)
    assert "moved" in result.conditions, result.metrics
    assert abs(result.metrics["shift_x_pct"]) < 1 and abs(result.metrics["shift_y_pct"]) < 1


def test_view_elsewhere_with_structure_is_moved(reference):
    """A view of another place entirely (nothing matches, the picture is sharp) is moved."""
    elsewhere = jpeg(view(scene(7), people=2), 85)
    result = analyze(elsewhere, reference=reference, previous=jpeg(view(scene(7), seed=4), 85))
    assert result.conditions == {"moved"}, result.metrics
    assert result.metrics["moved_no_match"] == 1.0
    assert result.metrics["in_place_share"] < 0.1


def test_small_perspective_vibration_is_not_moved(street, reference):
    """A mast swaying a fraction of a degree (1-2 px) is not moved, nor anything else."""
    for change in ({"tilt": 0.3}, {"pan": -0.3, "roll": 0.2}):
        result = analyze(turned(street, **change), reference=reference)
        assert result.conditions == frozenset(), result.metrics


def test_crossing_traffic_and_lighting_are_not_moved(street, reference):
    """A bus and people in front of the camera, or a darker afternoon, are not moved."""
    frame = view(street, gain=0.7, people=6, seed=5)
    cv2.rectangle(frame, (40, 120), (340, 330), (40, 90, 200), -1)  # a bus close by
    result = analyze(jpeg(frame, 80), reference=reference)
    assert "moved" not in result.conditions, result.metrics


def test_blurred_or_covered_view_is_not_moved_elsewhere(street, reference):
    """A frame that lost its detail does not count as a view of somewhere else."""
    blurred = jpeg(cv2.GaussianBlur(view(street), (0, 0), 6), 85)
    assert analyze(blurred, reference=reference).conditions == {"blurred"}


def test_reference_features_are_computed_once(street, reference):
    """The reference's features are cached by content: a re-decoded copy reuses them."""
    from vp_monitor.vision import geometry
    from vp_monitor.vision.frame import View, to_grey

    first = geometry.reference_features(View(to_grey(reference, 320)), 300)
    again = geometry.reference_features(View(to_grey(reference.copy(), 320)), 300)
    assert again is first
    assert first.self_in_place > 40
    other = geometry.reference_features(View(to_grey(view(scene(7)), 320)), 300)
    assert other is not first


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


def group_at(frame: np.ndarray, x: int, y: int) -> np.ndarray:
    """A group of people in patterned clothes (strong corners) at (x, y): what ORB sees most."""
    out = frame.copy()
    pattern = np.random.default_rng(42).uniform(0, 255, (12, 18, 3))
    patch = cv2.resize(pattern, (216, 144), interpolation=cv2.INTER_NEAREST)
    out[y : y + 144, x : x + 216] = patch.astype(np.uint8)
    return out


def test_a_group_walking_past_is_not_a_moved_camera(street):
    """The reference was taken with a group in view; now the group walks past elsewhere. Its
    own features match across the frames and agree on a shift of the group, not of the camera:
    only what stayed in place since the previous frame is matched, so nothing moved."""
    lawn = street * 0.3 + 77  # a scene of little contrast: the group gives most corners
    reference = jpeg(group_at(view(lawn, seed=10), 40, 30), 90)
    previous = jpeg(group_at(view(lawn, seed=11), 330, 170), 85)
    current = jpeg(group_at(view(lawn, seed=12), 360, 190), 85)  # 3 s later, walked on
    result = analyze(current, reference=reference, previous=previous)
    assert "moved" not in result.conditions, result.metrics
    # Without the previous frame, the group is taken for the scene: the camera looks moved.
    assert "moved" in analyze(current, reference=reference).conditions


def test_still_mask_leaves_out_what_crossed_and_keeps_a_vibrating_scene(street):
    """The tiles a passer-by crossed between two frames are left out (and their neighbours);
    a 2 px vibration of the whole view leaves the scene in."""
    from vp_monitor.vision import geometry
    from vp_monitor.vision.frame import View, to_grey

    def grey_view(frame):
        return View(to_grey(frame, 320))

    before = view(street, seed=1)
    shaken = grey_view(view(street, dx=2, dy=-2, seed=2))

    def mask(current, previous):
        return geometry.still_mask(geometry.moving_blocks(current, previous), (180, 320))

    assert (mask(shaken, grey_view(before)) > 0).mean() > 0.9
    crossed = grey_view(group_at(view(street, seed=2), 360, 190))
    crossed_mask = mask(crossed, grey_view(before))
    assert (crossed_mask[95:167, 180:288] > 0).mean() < 0.15  # the group's place, at 320 px
    assert (crossed_mask > 0).mean() > 0.6


def test_matches_on_one_or_two_objects_are_not_spread_over_the_frame():
    """A transform that only a person and a tripod agree on (a few cells of the frame) is not
    trusted to say the camera moved; the same number of matches over the scene is."""
    from vp_monitor.vision import geometry

    rotated = np.vstack([cv2.getRotationMatrix2D((160, 120), 4, 1.0), [0, 0, 1]])
    rng = np.random.default_rng(0)
    two_objects = np.float32(
        np.vstack([rng.uniform(130, 145, (7, 2)), rng.uniform([245, 170], [255, 190], (7, 2))])
    )
    scene_wide = np.float32(rng.uniform([0, 0], [320, 240], (14, 2)))
    spread = {
        name: geometry.matches_spread(geometry.Fit(rotated, 14, 20, agreeing=points), 320, 240)
        for name, points in (("objects", two_objects), ("scene", scene_wide))
    }
    assert spread["objects"] < geometry.MIN_SPREAD_CELLS <= spread["scene"], spread


def test_a_transform_that_keeps_its_matches_in_place_is_not_a_move():
    """Fitted to a band of matches at the top of the frame, a homography may keep them in
    place and swing the bottom corners far away: its matches did not move, the camera neither."""
    from vp_monitor.vision import geometry

    centre = np.array([[1.0, 0.0, 160.0], [0.0, 1.0, 12.0], [0.0, 0.0, 1.0]])
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.001, 1.0]])
    swing = centre @ tilt @ np.linalg.inv(centre)  # about the band's middle
    band = np.float32(np.random.default_rng(1).uniform([0, 0], [320, 25], (30, 2)))
    fit = geometry.Fit(swing, 30, 40, homography=True, agreeing=band)
    assert geometry.grid_displacement(swing, 320, 240)[0] > 4.0  # what the grid says
    assert geometry.matches_displacement(fit, 320, 240) < geometry.MATCHES_MIN_SHIFT_PCT


def test_a_fit_of_few_matches_is_confirmed_by_the_edges_only_when_it_is_right(street, reference):
    """A zoom's transform, fitted to too few matches to trust, is confirmed by the frame's
    edges: the reference moved by it shows them in place, unmoved it does not. The identity
    (nothing gained) and a wrong shift (worse than unmoved) are not confirmed."""
    from vp_monitor.vision.frame import View, to_grey
    from vp_monitor.vision.geometry import confirmed_by_edges

    settings = VisionSettings()

    def grey(frame: np.ndarray) -> View:
        return View(to_grey(frame, settings.work_width), settings.block_px)

    ref, zoomed = grey(reference), grey(turned(street, zoom=1.2))
    h, w = ref.grey.shape
    c = np.array([w / 2, h / 2])
    zoom = np.array([[1.2, 0, -0.2 * c[0]], [0, 1.2, -0.2 * c[1]], [0, 0, 1]])
    shift = np.array([[1, 0, 0.15 * w], [0, 1, 0], [0, 0, 1]], float)
    metrics: dict[str, float] = {}
    assert confirmed_by_edges(zoomed, ref, zoom, None, metrics), metrics
    assert metrics["aligned_in_place_share"] >= 0.6 > metrics["in_place_share"]
    assert not confirmed_by_edges(zoomed, ref, np.eye(3), None, {})
    assert not confirmed_by_edges(zoomed, ref, shift, None, {})
    assert not confirmed_by_edges(grey(reference), ref, zoom, None, {})  # it did not zoom


def test_a_view_panned_onto_open_ground_is_moved_not_covered(reference):
    """Panned onto open ground, the camera shows little detail, as behind a cover, but what
    detail it shows is nowhere the reference has it (a cover leaves the rest in place)."""
    rng = np.random.default_rng(5)
    ground = np.full((H, W, 3), 95, np.float32)
    for _ in range(6):  # a few kerbs and markings over plain tarmac
        p1 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        p2 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        cv2.line(ground, p1, p2, rng.uniform(150, 240, 3).tolist(), 3)

    def capture(seed: int) -> np.ndarray:
        noise = np.random.default_rng(seed).normal(0, 1.5, (H, W, 1))
        return jpeg(np.clip(ground + noise, 0, 255).astype(np.uint8), 85)

    result = analyze(capture(1), reference=reference, previous=capture(2))
    assert result.metrics["detail_ratio"] < VisionSettings().moved_min_detail_ratio
    assert "moved" in result.conditions and "covered" not in result.conditions, result.metrics


def test_a_view_turned_to_the_sky_is_moved_not_covered(reference):
    """Knocked up towards the sky, three quarters of the picture are flat, more than a cover
    needs without a reference; but the street left at the bottom is nowhere the reference has
    its edges, and a cover leaves what it does not hide in place. (It was reported `covered`,
    which masks `moved`.)"""
    picture = view(scene(2), seed=3).astype(np.float32)
    horizon = int(H * 0.75)
    picture[:horizon] = (215, 190, 170)
    picture[horizon:] = np.clip((picture[horizon:] - 110) * 3 + 110, 0, 255)  # sunlit

    def capture(seed: int) -> np.ndarray:
        noise = np.random.default_rng(seed).normal(0, 1.5, (H, W, 1))
        return jpeg(np.clip(picture + noise, 0, 255).astype(np.uint8), 85)

    result = analyze(capture(1), reference=reference, previous=capture(2))
    assert result.metrics["flat_fraction"] >= VisionSettings().covered_fraction_no_reference
    assert result.metrics["in_place_share"] <= 0.15, result.metrics
    assert "moved" in result.conditions and "covered" not in result.conditions, result.metrics
