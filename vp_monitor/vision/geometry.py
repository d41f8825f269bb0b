"""Moved camera: the view shifted or rotated against the reference image."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vp_monitor.vision.frame import Finding, View
from vp_monitor.vision.settings import VisionSettings

# Lowe's ratio test: keep a match only when clearly better than the second best.
MATCH_RATIO = 0.8
# RANSAC tolerance in pixels of the working copy.
RANSAC_PX = 3.0


def features(view: View, count: int) -> tuple[list, np.ndarray | None]:
    """ORB keypoints and descriptors of the working grey copy."""
    # Few pyramid levels: a camera that moved keeps its zoom, and each level costs time.
    orb = cv2.ORB_create(nfeatures=count, nlevels=3, scaleFactor=1.3, fastThreshold=10)
    return orb.detectAndCompute(view.grey, None)


def estimate(reference: View, current: View, count: int) -> tuple[np.ndarray | None, int, int]:
    """Similarity transform from reference to current, its supporting and candidate matches."""
    kp_ref, des_ref = features(reference, count)
    kp_cur, des_cur = features(current, count)
    if des_ref is None or des_cur is None or len(kp_ref) < 3 or len(kp_cur) < 3:
        return None, 0, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_ref, des_cur, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < MATCH_RATIO * p[1].distance]
    if len(good) < 3:
        return None, 0, len(good)
    src = np.float32([kp_ref[m.queryIdx].pt for m in good])
    dst = np.float32([kp_cur[m.trainIdx].pt for m in good])
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX
    )
    if matrix is None:
        return None, 0, len(good)
    return matrix, int(inliers.sum()), len(good)


def check(
    current: View, reference: View | None, previous: View | None, settings: VisionSettings
) -> Finding:
    """Moved when enough features agree on a shift or rotation beyond the thresholds."""
    if reference is None or reference.grey.shape != current.grey.shape:
        return Finding()
    matrix, inliers, candidates = estimate(reference, current, settings.orb_features)
    metrics = {"match_inliers": float(inliers), "match_candidates": float(candidates)}
    if (
        matrix is None
        or inliers < settings.moved_min_inliers
        or inliers < settings.moved_min_inlier_share * candidates
    ):
        return Finding(frozenset(), metrics)
    h, w = current.grey.shape
    centre = np.array([w / 2.0, h / 2.0])
    moved_centre = matrix[:, :2] @ centre + matrix[:, 2]
    shift_x, shift_y = (moved_centre - centre) / np.array([w, h]) * 100.0
    rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    metrics |= {"shift_x_pct": shift_x, "shift_y_pct": shift_y, "rotation_deg": rotation}
    moved = (
        math.hypot(shift_x, shift_y) > settings.moved_min_shift_pct
        or abs(rotation) > settings.moved_min_rotation_deg
    )
    metrics = {k: float(v) for k, v in metrics.items()}
    if not moved:
        return Finding(frozenset(), metrics)
    return Finding(frozenset({"moved"}), metrics, realign(reference, matrix))


def realign(reference: View, matrix: np.ndarray) -> View:
    """The reference as the moved camera would see it; new ground is marked not valid."""
    h, w = reference.grey.shape
    grey = cv2.warpAffine(reference.grey, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.warpAffine(np.ones((h, w), np.float32), matrix, (w, h))
    return View(grey, reference.block, valid)
