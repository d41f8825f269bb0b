"""Moved camera: the reference scene is no longer where it was in the frame.

Two ways to see it. Either features of the reference are found again and the transform they
agree on (a similarity, or a homography when the viewpoint changed in perspective) displaces
the picture beyond the threshold; or the current picture still has structure of its own but
hardly matches a reference that matches itself well: the camera looks somewhere else.
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
from vp_monitor.vision.frame import Finding, View
from vp_monitor.vision.settings import VisionSettings

# Lowe's ratio test: keep a match only when clearly better than the second best.
MATCH_RATIO = 0.8
# RANSAC tolerance in pixels of the working copy.
RANSAC_PX = 3.0
# A homography replaces the similarity only when it explains clearly more matches: on an
# unmoved view both fit, and the simpler model extrapolates more safely to the corners.
HOMOGRAPHY_GAIN = 1.25
HOMOGRAPHY_MIN_EXTRA = 8
# Largest change of scale across the frame a homography may imply (a camera's lens at most).
MAX_PERSPECTIVE = 0.5
# Displacement is measured on this grid of points of the frame (corners included).
GRID = 3
# A feature is found in place when a descriptor this close (Hamming distance, of 256 bits)
# lies within the moved threshold of its old position.
IN_PLACE_MAX_DISTANCE = 40
# Shift of the degraded copy the reference is matched with, in % of the frame: small.
SELF_PCT = 2.0
# A new view may be darker or brighter than the old one, but a frame under half the
# reference's light or with clipped white is the exposure check's to judge, not a view.
MIN_LUMA_RATIO = 0.5
# How many reference feature sets are kept (one per camera and day/night reference).
CACHE_SIZE = 2048


@dataclass(frozen=True)
class Features:
    """ORB keypoints and descriptors of a working grey copy, and how well it matches itself."""

    points: np.ndarray  # (n, 2) float32, working-copy pixels
    descriptors: np.ndarray | None
    # Features a lightly degraded copy of the picture finds back in place: how recognisable
    # the picture is, the scale for how much of it a live frame should find.
    self_in_place: int = 0


def detect(grey: np.ndarray, count: int) -> Features:
    """ORB keypoints and descriptors of a grey picture."""
    # Few pyramid levels (each costs time); four still cover a zoom change of about 2x.
    orb = cv2.ORB_create(nfeatures=count, nlevels=4, scaleFactor=1.25, fastThreshold=10)
    keypoints, descriptors = orb.detectAndCompute(grey, None)
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
        found.points, found.descriptors, in_place(found, detect(noisy, count), size, SELF_PCT)
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
    s_inliers = int(s_mask.sum()) if similarity is not None else 0
    homography, h_mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
    h_inliers = int(h_mask.sum()) if homography is not None and plausible(homography, size) else 0
    if h_inliers >= max(s_inliers * HOMOGRAPHY_GAIN, s_inliers + HOMOGRAPHY_MIN_EXTRA):
        return Fit(homography, h_inliers, len(good), homography=True)
    if similarity is None:
        return Fit(None, 0, len(good))
    return Fit(np.vstack([similarity, [0.0, 0.0, 1.0]]), s_inliers, len(good))


def in_place(reference: Features, current: Features, size: tuple[int, int], pct: float) -> int:
    """Reference features the current frame shows within `pct` % of the frame of their place."""
    if reference.descriptors is None or current.descriptors is None:
        return 0
    scale = 100.0 / np.array(size, np.float32)  # (width, height): per-axis % of the frame
    ref_pts, cur_pts = reference.points * scale, current.points * scale
    offsets = ref_pts[:, None, :] - cur_pts[None, :, :]
    near = (np.hypot(offsets[..., 0], offsets[..., 1]) <= pct).astype(np.uint8)
    found = 0
    for pair in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(
        reference.descriptors, current.descriptors, 1, mask=near
    ):
        found += bool(pair) and pair[0].distance <= IN_PLACE_MAX_DISTANCE
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


def rotation_deg(matrix: np.ndarray, w: int, h: int) -> float:
    """Roll of the picture at its centre under the transform, in degrees."""
    ends = np.float32([[[w / 2, h / 2]], [[w / 2 + 10, h / 2]]])
    a, b = cv2.perspectiveTransform(ends, matrix).reshape(-1, 2)
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))


def detail_ratio(current: View, reference: View, settings: VisionSettings) -> float:
    """Share of blocks with fine detail, against the reference's (a blur or a cover lowers it)."""
    detailed = 1.0 - float(cover.flat_blocks(current, settings)[0].mean())
    return detailed / max(1.0 - float(cover.flat_blocks(reference, settings)[0].mean()), 0.01)


def fair_picture(current: View, reference: View, settings: VisionSettings) -> bool:
    """Detail and light of its own: not blurred, covered, dark or clipped (the other checks')."""
    # A lens half covered also hides the reference; judged against it, the cover check says so.
    if cover.check(current, reference, None, settings).conditions:
        return False
    luma_ratio = float(current.grey.mean()) / max(float(reference.grey.mean()), 1.0)
    clipped = float(np.count_nonzero(current.grey > settings.bright_level)) / current.grey.size
    return (
        detail_ratio(current, reference, settings) >= settings.moved_min_detail_ratio
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
    cur = detect(current.grey, settings.orb_features)
    h, w = current.grey.shape
    fit = estimate(ref, cur, (w, h))
    found = in_place(ref, cur, (w, h), settings.moved_min_shift_pct)
    in_place_share = found / max(ref.self_in_place, 1)
    metrics = {
        "match_inliers": float(fit.inliers),
        "match_candidates": float(fit.candidates),
        "homography": float(fit.homography),
        "in_place_share": in_place_share,
        "reference_self_in_place": float(ref.self_in_place),
        "keypoints": float(len(cur.points)),
        "detail_ratio": detail_ratio(current, reference, settings),
    }
    trusted = (
        fit.matrix is not None
        and fit.inliers >= settings.moved_min_inliers
        and fit.inliers >= settings.moved_min_inlier_share * fit.candidates
    )
    if trusted:
        displacement, (shift_x, shift_y) = grid_displacement(fit.matrix, w, h)
        rotation = rotation_deg(fit.matrix, w, h)
        metrics |= {
            "shift_x_pct": float(shift_x),
            "shift_y_pct": float(shift_y),
            "displacement_pct": displacement,
            "rotation_deg": rotation,
        }
        if (
            displacement > settings.moved_min_shift_pct
            or abs(rotation) > settings.moved_min_rotation_deg
        ):
            metrics["moved_displacement"] = 1.0
            return Finding(frozenset({"moved"}), metrics, realign(reference, fit.matrix))
        return Finding(frozenset(), metrics)
    # The reference scene is no longer where it was, and no transform says where it went: the
    # view is elsewhere, if this frame is a fair picture and the reference is recognisable.
    elsewhere = (
        in_place_share < settings.moved_max_in_place_share
        and ref.self_in_place >= settings.moved_min_reference_features
        and fair_picture(current, reference, settings)
    )
    if not elsewhere:
        return Finding(frozenset(), metrics)
    metrics["moved_no_match"] = 1.0
    # The reference shows nothing of this view: the other checks judge it without one.
    return Finding(frozenset({"moved"}), metrics, reference_lost=True)


def realign(reference: View, matrix: np.ndarray) -> View:
    """The reference as the moved camera would see it; new ground is marked not valid."""
    h, w = reference.grey.shape
    grey = cv2.warpPerspective(reference.grey, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (w, h))
    return View(grey, reference.block, valid)
