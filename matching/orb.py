"""cv2.ORB's keypoints and descriptors, found level by level at a cheaper FAST threshold.

ORB (detectAndCompute with nfeatures=n, scaleFactor=1.2, nlevels=8,
fastThreshold=5) spends ~80% of its time in FAST: at threshold 5 a
CLAHE-equalised 640 px photo has ~10,000 corners on its first level, of which
ORB keeps the 2 x 152 with the best FAST score for its Harris ranking and
then 152. The same keypoints come out of a higher threshold, level by level:

- FAST's score of a corner (the largest threshold at which it is one) does
  not depend on the threshold it is searched with, so the corners found at
  threshold t are exactly those found at 5 with a score >= t, and the 3 x 3
  non-maximum suppression keeps the same ones among them (a neighbour that
  could suppress a corner of score >= t has a higher score, so is found too);
- ORB keeps, per level, every corner whose score is at least the 2n-th best
  (OpenCV's `retainBest` keeps ties), then ranks those by Harris response.
  When a level has >= 2n corners of score >= t, those are the same corners
  at threshold t as at threshold 5, and everything after is the same.

So for each level `_threshold` counts the corners at a high threshold on the
level image (FAST alone, without the border rows ORB drops anyway; starting
from the previous level's threshold) and takes the 2n-th best score as the
level's threshold: the largest that gives ORB's own answer. A level short of
corners there (flat images, the coarsest levels) is searched at ORB's
threshold 5, as before. Each level then runs through a one-level ORB on the
level image, which ranks by Harris response, orients and describes exactly
as the eight-level ORB does; the pyramid is ORB's (each level resized from
the previous, INTER_LINEAR_EXACT, at ORB's scales). Checked point for point
and bit for bit against the installed cv2.ORB in
tests/matching/test_orb_levels.py, which is what would catch an OpenCV
release that changes ORB's internals. Bank entries keep the features they
have: nothing about them changes.

Measured (benchmarks/hook_latency.py's 2 MP uploads, decoded at 960 x 540,
640 x 360 for ORB; CPU ms, loaded machine): the 640 px detection 11.3 ->
4.5 (thresholds 99, 90, 83, 77, 69, 62, 57, 43 over the 8 levels), the
whole `extract_query_features` (both scales, plain and mirrored) 20.9 ->
11.5, alternating in one process.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

SCALE_FACTOR = 1.2
N_LEVELS = 8
FAST_THRESHOLD = 5
# cv2.ORB's defaults: keypoints closer than EDGE px to a level's border are
# dropped, descriptors are computed over a PATCH px patch
EDGE = 31
PATCH = 31
# FAST skips 3 px on each side and its suppression looks 1 px further: on the
# level image less MARGIN px per side it still scores every corner >= EDGE px in
PROBE_MARGIN = EDGE - 4
# The first threshold tried on level 0 and the share of a level's threshold
# the next level starts from (the 2n-th best score falls ~8% a level: 99, 90,
# 83, 77, 69, 62, 57, 43 on a 2 MP upload); a level short of corners there
# tries PROBE_RETRY of that threshold, then ORB's own.
PROBE_START = 64
PROBE_NEXT = 0.85
PROBE_RETRY = 0.4

_local = threading.local()


def _cache() -> dict:
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    return cache


def _orb(n: int, threshold: int = FAST_THRESHOLD) -> cv2.ORB:
    """A one-level ORB keeping n keypoints, per thread (OpenCV objects keep buffers)."""
    cache = _cache()
    if ("orb", n) not in cache:
        cache["orb", n] = cv2.ORB_create(nfeatures=max(1, n), nlevels=1)
    orb = cache["orb", n]
    orb.setFastThreshold(threshold)
    return orb


def _fast(threshold: int) -> cv2.FastFeatureDetector:
    cache = _cache()
    if "fast" not in cache:
        cache["fast"] = cv2.FastFeatureDetector_create(threshold, True)
    fast = cache["fast"]
    fast.setThreshold(threshold)
    return fast


def level_budgets(n: int) -> list[int]:
    """Keypoints ORB keeps per level for n in all (cv::ORB's float32 arithmetic)."""
    f32 = np.float32
    factor = f32(1.0 / float(f32(SCALE_FACTOR)))
    desired = f32(n) * (f32(1) - factor) / (f32(1) - f32(float(factor) ** N_LEVELS))
    out = []
    for _ in range(N_LEVELS - 1):
        out.append(int(np.rint(desired)))
        desired = f32(desired * factor)
    return [*out, max(n - sum(out), 0)]


# cv::ORB's level scales, as it applies them (found by comparing with its output,
# e.g. hubble_deep_field at 558 x 640 px, whose level 2 is 387.5 rows in double):
# keypoints are scaled by float32(1.2f ** l), level sizes by the double 1.2 ** l
LEVEL_SCALES = [np.float32(float(np.float32(SCALE_FACTOR)) ** lv) for lv in range(N_LEVELS)]
SIZE_SCALES = [SCALE_FACTOR**lv for lv in range(N_LEVELS)]


def pyramid(img: np.ndarray) -> list[np.ndarray]:
    """ORB's pyramid of a uint8 grey image: level l is 1.2^l times smaller."""
    h, w = img.shape[:2]
    levels = [img]
    for lv in range(1, N_LEVELS):
        s = SIZE_SCALES[lv]
        size = (int(np.rint(w / s)), int(np.rint(h / s)))
        levels.append(cv2.resize(levels[-1], size, interpolation=cv2.INTER_LINEAR_EXACT))
    return levels


def _threshold(level: np.ndarray, need: int, start: int) -> int:
    """The largest FAST threshold giving ORB's `need` best corners of this level.

    Tries `start`, then PROBE_RETRY of it; FAST_THRESHOLD when neither has
    `need` corners. The caller has skipped levels too small to keep any.
    """
    h, w = level.shape[:2]
    m = PROBE_MARGIN
    inner = level[m : h - m, m : w - m]
    for t in (start, int(start * PROBE_RETRY)):
        if t <= FAST_THRESHOLD:
            break
        corners = _fast(t).detect(inner)
        if len(corners) < need:
            continue
        xy = cv2.KeyPoint_convert(corners) + np.float32(m)
        x, y = xy[:, 0], xy[:, 1]
        kept = (x >= EDGE) & (x < w - EDGE) & (y >= EDGE) & (y < h - EDGE)
        if kept.sum() < need:
            continue
        scores = np.array([c.response for c in corners], np.float32)[kept]
        return int(np.partition(scores, len(scores) - need)[len(scores) - need])
    return FAST_THRESHOLD


class Levels:
    """ORB's keypoints of one image and their descriptors, per pyramid level."""

    def __init__(self, img: np.ndarray, n: int):
        self.images = pyramid(img)
        # per level: (x, y) in level pixels, angles in degrees, descriptors
        self._found: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        start = PROBE_START
        for image, budget in zip(self.images, level_budgets(n), strict=True):
            h, w = image.shape[:2]
            if budget <= 0 or h <= 2 * EDGE or w <= 2 * EDGE:
                # nothing is EDGE px from every border: ORB would keep no keypoint
                self._found.append(None)
                continue
            threshold = _threshold(image, 2 * budget, start)
            start = max(FAST_THRESHOLD, int(threshold * PROBE_NEXT))
            kps, desc = _orb(budget, threshold).detectAndCompute(image, None)
            self._found.append(_level_arrays(kps, desc))

    def arrays(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """(points in the image's frame, descriptors, angles in degrees, level per keypoint)."""
        return _stack(self._found)

    def mirrored(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """`arrays()` of the mirrored image: its keypoints are these, mirrored.

        ORB finds the same keypoints on a mirrored image as on the image,
        mirrored: FAST's circle, the Harris window and the suppression are
        symmetric, each level of the mirrored image is the mirrored level, and
        the intensity centroid turns into its mirror (angle -> 180 - angle).
        Only the BRIEF pattern is not symmetric: descriptors are computed on
        each mirrored level at the mirrored keypoints, exactly what ORB finds
        on the mirrored image (tests/matching/test_orb_levels.py).
        """
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        for image, found in zip(self.images, self._found, strict=True):
            if found is None:
                out.append(None)
                continue
            xy, angles, _ = found
            x = (image.shape[1] - 1) - xy[:, 0].astype(np.float64)
            turned = (180.0 - angles.astype(np.float64)) % 360.0
            flipped = [
                cv2.KeyPoint(a, b, PATCH, c)
                for a, b, c in zip(x.tolist(), xy[:, 1].tolist(), turned.tolist(), strict=True)
            ]
            # (compute describes every keypoint it is given: nfeatures plays no part)
            kps, desc = _orb(1).compute(cv2.flip(image, 1), flipped)
            if desc is not None and len(kps) == len(flipped):
                # compute keeps the keypoints it is given, in order
                mxy = np.stack([x, xy[:, 1]], axis=1).astype(np.float32)
                out.append((mxy, turned.astype(np.float32), desc))
            else:
                out.append(_level_arrays(kps, desc))
        return _stack(out)


def _level_arrays(kps, desc) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if desc is None or not len(kps):
        return None
    xy = cv2.KeyPoint_convert(kps).reshape(-1, 2).astype(np.float32)
    return xy, np.array([k.angle for k in kps], np.float32), desc


def _stack(found):
    """Per-level arrays -> (points in the image's frame, descriptors, angles, levels)."""
    pts, ds, angles, levels = [], [], [], []
    for lv, part in enumerate(found):
        if part is None:
            continue
        pts.append(part[0] * LEVEL_SCALES[lv])
        angles.append(part[1])
        ds.append(part[2])
        levels.append(np.full(len(part[0]), lv, np.int32))
    if not ds:
        empty = np.zeros(0, np.float32)
        return np.zeros((0, 2), np.float32), None, empty, np.zeros(0, np.int32)
    return np.concatenate(pts), np.concatenate(ds), np.concatenate(angles), np.concatenate(levels)
