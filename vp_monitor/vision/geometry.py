"""Moved camera: the reference scene is no longer where it was in the frame.

Two ways to see it. Either features of the reference are found again and the transform they
agree on (a similarity, or a homography when the viewpoint changed in perspective) displaces
them and a grid of the frame's points beyond the threshold: trusted when the matches are many
and all over the frame, or when the reference moved by that transform shows its edges where
the frame has them far better than unmoved; or no transform is agreed on, the frame's edges
are hardly anywhere the reference has them, and the frame is still a sharp, detailed,
well-exposed picture: the camera looks elsewhere.

Only the scene is judged, not what crosses it: the parts of the current frame that did not
change since the previous one (a few seconds earlier). People and vehicles move on in that
time; matched to the reference (taken at another moment, with other passers-by) they would
agree on shifts of their own, or make the reference's scene look gone.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from vp_monitor.vision import cover
from vp_monitor.vision.frame import Finding, View, block_means
from vp_monitor.vision.settings import VisionSettings
from vp_monitor.vision.sharpness import sharpness

# Lowe's ratio test: keep a match only when clearly better than the second best.
MATCH_RATIO = 0.8
# RANSAC tolerance in pixels of the working copy.
RANSAC_PX = 3.0
# A homography replaces the similarity only when it explains clearly more matches: on an
# unmoved view both fit, and the simpler model extrapolates more safely to the corners.
HOMOGRAPHY_GAIN = 1.25
HOMOGRAPHY_MIN_EXTRA = 8
# The agreeing matches of a move are themselves displaced by more than this (% of the frame):
# in place they stay within a 1-2 px vibration (under 1 % at 320 px).
MATCHES_MIN_SHIFT_PCT = 1.0
# The agreeing matches of a move lie in at least this many cells of a grid over the frame.
SPREAD_GRID = 8
MIN_SPREAD_CELLS = 5
# Largest change of scale across the frame a homography may imply (a camera's lens at most).
MAX_PERSPECTIVE = 0.5
# Displacement is measured on this grid of points of the frame (corners included).
GRID = 3
# Fewest matches agreeing on an unmoved view that rule out a view of elsewhere: two fix a
# similarity, two more agreeing within RANSAC_PX near the identity are not chance.
MIN_AGREEING = 4
# A feature is found in place when a descriptor this close (Hamming distance, of 256 bits)
# lies within the moved threshold of its old position.
IN_PLACE_MAX_DISTANCE = 40
# A view of elsewhere is told on tiles of this size (px of the working copy): large enough for
# a 1-2 px vibration to keep their edges in place, small enough for a passer-by to fill few.
TILE_PX = 32
# Edges are compared blurred by this much (px): a vibration must not break them.
EDGE_BLUR = 2.0
# A tile shows the reference's scene in place when its edges correlate this well with the
# reference's; it has edges to compare when their spread exceeds this (sensor noise has less).
TILE_MATCH = 0.4
TILE_MIN_EDGES = 1.0
# Fewest tiles to judge by (of 50 in a 16:9 working copy), and the share of a tile's blocks
# where nothing moved for it to be judged.
MIN_TILES = 6
TILE_STILL = 0.75
# A fit with too few matches to trust on their own is confirmed by the edges: the reference
# moved by it shows its edges in place on at least this share of the tiles, and on this much
# more of them than the reference unmoved (a wrong fit only makes it worse).
ALIGNED_MIN_IN_PLACE = 0.6
ALIGNED_MIN_GAIN = 0.25
# A frame whose tiles with edges show the reference's almost nowhere looks elsewhere however
# little detail it has (a view panned onto open ground): a cover leaves the rest in place.
NOWHERE_IN_PLACE = 0.15
# Number of set bits of each byte value, for Hamming distances.
POPCOUNT = np.array([bin(value).count("1") for value in range(256)], np.uint8)
# Shift of the degraded copy the reference is matched with, in % of the frame: small.
SELF_PCT = 2.0
# A new view may be darker or brighter than the old one, but a frame under half the
# reference's light or with clipped white is the exposure check's to judge, not a view.
MIN_LUMA_RATIO = 0.5
# How many reference feature sets are kept (one per camera and day/night reference).
CACHE_SIZE = 2048
# A block of the frame changed between the previous frame and the current one (someone crossed
# it) when its pixels changed on average by more than this (grey levels) plus what a shift of
# VIBRATION_PX pixels makes of its texture (mean gradient, grey levels per pixel): a mast
# swaying 1-2 px either way puts two frames up to 4 px apart.
MOVING_DIFF = 8.0
VIBRATION_PX = 4.0


@dataclass(frozen=True)
class Features:
    """ORB keypoints and descriptors of a working grey copy, and how well it matches itself."""

    points: np.ndarray  # (n, 2) float32, working-copy pixels
    descriptors: np.ndarray | None
    # Features a lightly degraded copy of the picture finds back in place: how recognisable
    # the picture is, the scale for how much of it a live frame should find.
    self_in_place: int = 0


def detect(grey: np.ndarray, count: int, mask: np.ndarray | None = None) -> Features:
    """ORB keypoints and descriptors of a grey picture (where `mask` is set, if given)."""
    # Few pyramid levels (each costs time); four still cover a zoom change of about 2x.
    orb = cv2.ORB_create(nfeatures=count, nlevels=4, scaleFactor=1.25, fastThreshold=10)
    keypoints, descriptors = orb.detectAndCompute(grey, mask)
    points = np.float32([kp.pt for kp in keypoints]).reshape(-1, 2)
    return Features(points, descriptors)


_cache: OrderedDict[bytes, Features] = OrderedDict()
_cache_lock = threading.Lock()


def reference_features(reference: View, count: int) -> Features:
    """Features of a reference picture, computed once per distinct picture and then cached."""
    # Keyed by content, not object identity: the monitor decodes the stored reference anew
    # at every check, and the same bytes always give the same grey copy.
    key = hashlib.blake2b(reference.grey.tobytes(), digest_size=16)
    key.update(f"{reference.grey.shape}:{count}".encode())
    digest = key.digest()
    with _cache_lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            return _cache[digest]
    found = detect(reference.grey, count)
    # A copy as a later capture would give it: a little blur and noise, slightly shifted.
    rng = np.random.default_rng(0)
    shifted = cv2.warpAffine(
        cv2.GaussianBlur(reference.grey, (0, 0), 0.8),
        np.float32([[1, 0, 1.5], [0, 1, -1.0]]),
        reference.grey.shape[::-1],
        borderMode=cv2.BORDER_REPLICATE,
    )
    noisy = np.clip(shifted + rng.normal(0, 2.0, shifted.shape), 0, 255).astype(np.uint8)
    size = reference.grey.shape[::-1]
    found = Features(
        found.points,
        found.descriptors,
        int(in_place(found, detect(noisy, count), size, SELF_PCT).sum()),
    )
    with _cache_lock:
        _cache[digest] = found
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return found


@dataclass(frozen=True)
class Fit:
    """The transform from reference to current the matches agree on, if any."""

    matrix: np.ndarray | None  # 3x3
    inliers: int
    candidates: int
    homography: bool = False
    agreeing: np.ndarray | None = None  # (inliers, 2) the agreeing matches, in the reference


def estimate(reference: Features, current: Features, size: tuple[int, int]) -> Fit:
    """Similarity and homography from reference to current; the one that explains more."""
    if (
        reference.descriptors is None
        or current.descriptors is None
        or len(reference.points) < 4
        or len(current.points) < 4
    ):
        return Fit(None, 0, 0)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(reference.descriptors, current.descriptors, 2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < MATCH_RATIO * p[1].distance]
    if len(good) < 4:
        return Fit(None, 0, len(good))
    src = reference.points[[m.queryIdx for m in good]]
    dst = current.points[[m.trainIdx for m in good]]
    similarity, s_mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX
    )
    if similarity is not None and not plausible(np.vstack([similarity, [0, 0, 1]]), size):
        similarity = None
    s_inliers = int(s_mask.sum()) if similarity is not None else 0
    needed = max(s_inliers * HOMOGRAPHY_GAIN, s_inliers + HOMOGRAPHY_MIN_EXTRA)
    if len(good) >= needed:  # else no homography could explain enough more: skip the fit
        homography, h_mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
        if homography is not None and plausible(homography, size) and h_mask.sum() >= needed:
            agreeing = src[h_mask.ravel() > 0]
            return Fit(homography, len(agreeing), len(good), homography=True, agreeing=agreeing)
    if similarity is None:
        return Fit(None, 0, len(good))
    agreeing = src[s_mask.ravel() > 0]
    return Fit(np.vstack([similarity, [0.0, 0.0, 1.0]]), s_inliers, len(good), agreeing=agreeing)


def moving_blocks(current: View, previous: View | None) -> np.ndarray | None:
    """The views' blocks where something moved between the previous frame and the current one
    (None without a previous frame of the same size).

    Brightness offset removed, a block changed when its pixels moved on average by more than
    the vibration of its own texture explains."""
    if previous is None or previous.grey.shape != current.grey.shape:
        return None
    now, before = current.smooth, previous.smooth
    change = block_means(cv2.absdiff(now - now.mean(), before - before.mean()), current.block)
    texture = np.minimum(current.block_texture, previous.block_texture)
    return change > MOVING_DIFF + VIBRATION_PX * texture


def still_mask(moving: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """Where features may be taken: 255 away from the moving blocks and their neighbours (a
    feature's descriptor reads a patch around it), 0 there; None to take them anywhere."""
    if moving is None:
        return None
    near = cv2.dilate(moving.astype(np.uint8), np.ones((3, 3), np.uint8))
    return cv2.resize(1 - near, shape[::-1], interpolation=cv2.INTER_NEAREST) * np.uint8(255)


def in_place(
    reference: Features, current: Features, size: tuple[int, int], pct: float
) -> np.ndarray:
    """Which reference features the current frame shows within `pct` % of the frame of their
    place (a boolean per reference feature)."""
    found = np.zeros(len(reference.points), bool)
    if reference.descriptors is None or current.descriptors is None:
        return found
    scale = 100.0 / np.array(size, np.float32)  # (width, height): per-axis % of the frame
    offsets = (reference.points * scale)[:, None, :] - (current.points * scale)[None, :, :]
    ref_idx, cur_idx = np.nonzero(np.hypot(offsets[..., 0], offsets[..., 1]) <= pct)
    # Hamming distance of each nearby pair only: a few thousand pairs, not all of them.
    xor = np.bitwise_xor(reference.descriptors[ref_idx], current.descriptors[cur_idx])
    distance = POPCOUNT[xor].sum(axis=1)
    found[ref_idx[distance <= IN_PLACE_MAX_DISTANCE]] = True
    return found


def plausible(matrix: np.ndarray, size: tuple[int, int]) -> bool:
    """A homography a camera could produce: keeps orientation, bounded scale and perspective."""
    matrix = matrix / matrix[2, 2]
    det = float(np.linalg.det(matrix[:2, :2]))
    # How much the perspective term changes the scale from the centre to the frame's edge.
    perspective = abs(matrix[2, 0]) * size[0] / 2 + abs(matrix[2, 1]) * size[1] / 2
    return 0.2 < det < 5.0 and perspective < MAX_PERSPECTIVE


def grid_displacement(matrix: np.ndarray, w: int, h: int) -> tuple[float, np.ndarray]:
    """Mean displacement (% of frame, per axis) of a grid of frame points, and the centre's."""
    xs, ys = np.meshgrid(np.linspace(0, w, GRID), np.linspace(0, h, GRID))
    points = np.float32(np.stack([xs.ravel(), ys.ravel()], axis=1)).reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(points, matrix).reshape(-1, 2)
    shift = (moved - points.reshape(-1, 2)) / np.array([w, h]) * 100.0
    return float(np.hypot(shift[:, 0], shift[:, 1]).mean()), shift[len(shift) // 2]


def matches_spread(fit: Fit, w: int, h: int) -> int:
    """In how many cells of a SPREAD_GRID x SPREAD_GRID grid of the frame the agreeing matches
    lie: a move shows all over the scene, a chance agreement on one or two objects."""
    cells = np.floor(fit.agreeing / np.array([w, h]) * SPREAD_GRID).astype(int)
    return len({(int(x), int(y)) for x, y in cells})


def matches_displacement(fit: Fit, w: int, h: int) -> float:
    """How far the agreeing matches themselves moved (90th percentile, % of frame)."""
    points = fit.agreeing.reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(points, fit.matrix).reshape(-1, 2)
    shift = (moved - fit.agreeing) / np.array([w, h]) * 100.0
    return float(np.percentile(np.hypot(shift[:, 0], shift[:, 1]), 90))


def rotation_deg(matrix: np.ndarray, w: int, h: int) -> float:
    """Roll of the picture at its centre under the transform, in degrees."""
    ends = np.float32([[[w / 2, h / 2]], [[w / 2 + 10, h / 2]]])
    a, b = cv2.perspectiveTransform(ends, matrix).reshape(-1, 2)
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))


def scene_in_place(current: View, reference: View, moving: np.ndarray | None) -> float | None:
    """Share of the frame's tiles with edges where the reference has the same edges, among the
    tiles with edges that nothing crossed since the previous frame (mostly not `moving`) and
    that the reference covers (a realigned one has none where the view shows new ground): near
    1 for a camera that did not move, whoever crossed the reference's view; near 0 for one
    that looks elsewhere; None with too few such tiles to tell. Edges, not brightness: light
    changes through the day, edges stay."""
    edges_now = cv2.GaussianBlur(current.gradient, (0, 0), EDGE_BLUR)
    edges_then = cv2.GaussianBlur(reference.gradient, (0, 0), EDGE_BLUR)
    now, then = _tile_stats(edges_now), _tile_stats(edges_then)
    both = block_means(edges_now * edges_then, TILE_PX)
    spread = np.sqrt(now[1] * then[1])
    correlation = (both - now[0] * then[0]) / np.maximum(spread, 1e-6)
    judged = np.sqrt(np.minimum(now[1], then[1])) > TILE_MIN_EDGES
    if moving is not None:
        still = cv2.resize(
            (~moving).astype(np.float32), judged.shape[::-1], interpolation=cv2.INTER_AREA
        )
        judged &= still >= TILE_STILL
    if reference.valid is not None:
        judged &= block_means(reference.valid, TILE_PX) >= 0.99
    if judged.sum() < MIN_TILES:
        return None
    return float((correlation[judged] > TILE_MATCH).mean())


def _tile_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of `image` over each TILE_PX tile."""
    mean = block_means(image, TILE_PX)
    return mean, np.maximum(block_means(image * image, TILE_PX) - mean * mean, 0.0)


def detail_ratio(current: View, reference: View, settings: VisionSettings) -> float:
    """Share of blocks with fine detail, against the reference's (a blur or a cover lowers it)."""
    detailed = 1.0 - float(cover.flat_blocks(current, settings)[0].mean())
    return detailed / max(1.0 - float(cover.flat_blocks(reference, settings)[0].mean()), 0.01)


def fair_picture(current: View, reference: View, settings: VisionSettings, detail: float) -> bool:
    """Focus and light of its own: not blurred, dark or clipped (what the other checks judge).
    In focus: as sharp as the reference, or with as much fine detail (`detail`, against the
    reference's): a view of grass or gravel is less sharp than one of a street, not blurred."""
    luma_ratio = float(current.grey.mean()) / max(float(reference.grey.mean()), 1.0)
    clipped = float(np.count_nonzero(current.grey > settings.bright_level)) / current.grey.size
    focused = detail >= 1.0 or (
        sharpness(current) >= settings.blurred_sharpness_ratio * sharpness(reference)
    )
    return (
        focused
        and luma_ratio >= MIN_LUMA_RATIO
        and clipped < settings.overexposed_min_bright_fraction
    )


def check(
    current: View, reference: View | None, previous: View | None, settings: VisionSettings
) -> Finding:
    """Moved when the matched transform displaces the picture, or when nothing is in place."""
    if reference is None or reference.grey.shape != current.grey.shape:
        return Finding()
    ref = reference_features(reference, settings.orb_features)
    # Only the scene is matched: not where something crossed since the previous frame.
    moving = moving_blocks(current, previous)
    cur = detect(current.grey, settings.orb_features, still_mask(moving, current.grey.shape))
    h, w = current.grey.shape
    fit = estimate(ref, cur, (w, h))
    metrics = {
        "match_inliers": float(fit.inliers),
        "match_candidates": float(fit.candidates),
        "homography": float(fit.homography),
    }
    trusted = (
        fit.matrix is not None
        and fit.inliers >= settings.moved_min_inliers
        and fit.inliers >= settings.moved_min_inlier_share * fit.candidates
        and matches_spread(fit, w, h) >= MIN_SPREAD_CELLS
    )
    displaced = False
    if fit.matrix is not None:
        displacement, (shift_x, shift_y) = grid_displacement(fit.matrix, w, h)
        rotation = rotation_deg(fit.matrix, w, h)
        metrics |= {
            "shift_x_pct": float(shift_x),
            "shift_y_pct": float(shift_y),
            "displacement_pct": displacement,
            "rotation_deg": rotation,
            "matches_displacement_pct": matches_displacement(fit, w, h),
        }
        # A transform fitted to matches in one part of the frame can swing the rest of it
        # (a band of matches, a tight cluster): the matches themselves must have moved too.
        displaced = (
            displacement > settings.moved_min_shift_pct
            or abs(rotation) > settings.moved_min_rotation_deg
        ) and metrics["matches_displacement_pct"] >= MATCHES_MIN_SHIFT_PCT
    if displaced and not trusted:
        trusted = confirmed_by_edges(current, reference, fit.matrix, moving, metrics)
    if trusted and displaced:
        metrics["moved_displacement"] = 1.0
        return Finding(frozenset({"moved"}), metrics, realign(reference, fit.matrix))
    # A few features agreeing that nothing moved (the rest hidden by people, a vehicle or
    # rain) are enough to say the view is not elsewhere.
    if trusted or (fit.matrix is not None and fit.inliers >= MIN_AGREEING and not displaced):
        return Finding(frozenset(), metrics)
    # No transform says where the reference went: is it still in place, and is this frame a
    # fair picture of something (not one the other checks will call blurred, dark, covered)?
    in_place_share = scene_in_place(current, reference, moving)
    metrics |= {
        # Too little scene to tell counts as in place: not a view of elsewhere.
        "in_place_share": 1.0 if in_place_share is None else in_place_share,
        "reference_self_in_place": float(ref.self_in_place),
        "detail_ratio": detail_ratio(current, reference, settings),
    }
    elsewhere = (
        metrics["in_place_share"] < settings.moved_max_in_place_share
        and ref.self_in_place >= settings.moved_min_reference_features
        and (
            metrics["detail_ratio"] >= settings.moved_min_detail_ratio
            or (in_place_share is not None and in_place_share <= NOWHERE_IN_PLACE)
        )
        and fair_picture(current, reference, settings, metrics["detail_ratio"])
    )
    if not elsewhere:
        return Finding(frozenset(), metrics)
    metrics["moved_no_match"] = 1.0
    # The reference shows nothing of this view: the other checks judge it without one. When
    # its edges are nowhere in place, the view is not covered either, whatever share of it is
    # flat (sky, open ground): a cover leaves what it does not hide where it was.
    nowhere = in_place_share is not None and in_place_share <= NOWHERE_IN_PLACE
    return Finding(
        frozenset({"moved"}),
        metrics,
        reference_lost=True,
        ruled_out=frozenset({"covered"}) if nowhere else frozenset(),
    )


def confirmed_by_edges(
    current: View,
    reference: View,
    matrix: np.ndarray,
    moving: np.ndarray | None,
    metrics: dict[str, float],
) -> bool:
    """Whether the reference moved by `matrix` shows the frame's edges in place, far better than
    unmoved: the fit of a few matches (a zoom, a view partly new) checked on the whole frame."""
    aligned = scene_in_place(current, realign(reference, matrix), moving)
    unmoved = scene_in_place(current, reference, moving)
    if aligned is None:
        return False
    metrics["aligned_in_place_share"] = aligned
    unmoved = 1.0 if unmoved is None else unmoved
    metrics["in_place_share"] = unmoved
    return aligned >= ALIGNED_MIN_IN_PLACE and aligned - unmoved >= ALIGNED_MIN_GAIN


def realign(reference: View, matrix: np.ndarray) -> View:
    """The reference as the moved camera would see it; new ground is marked not valid."""
    h, w = reference.grey.shape
    grey = cv2.warpPerspective(reference.grey, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (w, h))
    return View(grey, reference.block, valid)
