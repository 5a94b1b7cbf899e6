"""Local binary features (ORB) for the second stage: crops, caption bars, stickers.

A full-frame hash moves with every pixel of the frame, so a 5% crop or a
caption bar over 15% of the height breaks PDQ (research note: 0% matched).
ORB keypoints on the untouched part of the picture survive; a bank entry
matches only when enough of them agree on one similarity transform
(rotation, scale, translation), estimated with RANSAC. That geometric check
is what keeps unrelated images that share a few textures from matching.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InvalidFeatures
from .orb import Levels

FEATURE_SIDE = 640
# keypoints kept per image, over ORB's 8 levels 1.2 times smaller each (orb.py)
N_FEATURES = 700
# plausible query-to-entry scales (both sides are normalised to FEATURE_SIDE,
# so a crop keeping 50% maps at 0.5, a copy with wide bars at up to ~2)
MIN_SCALE = 0.2
MAX_SCALE = 5.0
# ORB1: points + descriptors; ORB2 adds each keypoint's orientation (one byte,
# 360/256 degree steps). ORB1 blobs (entries added before) are still read:
# without orientations the guided count in `verify` is skipped for them.
_MAGIC_V1 = b"ORB1"
_MAGIC = b"ORB2"
_HEADER = struct.Struct("<4sHHH")


@dataclass(frozen=True)
class LocalFeatures:
    """ORB keypoints of one image reduced to FEATURE_SIDE on its long side."""

    points: np.ndarray  # (N, 2) float32 x, y
    descriptors: np.ndarray  # (N, 32) uint8
    width: int
    height: int
    # (N,) float32 keypoint orientations in degrees, None for ORB1 blobs
    angles: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.points)

    def to_blob(self) -> bytes:
        n = len(self.points)
        v2 = self.angles is not None
        head = _HEADER.pack(_MAGIC if v2 else _MAGIC_V1, n, self.width, self.height)
        out = (
            head
            + np.ascontiguousarray(self.points, dtype="<f4").tobytes()
            + np.ascontiguousarray(self.descriptors, dtype=np.uint8).tobytes()
        )
        if v2:
            steps = np.round(np.asarray(self.angles, np.float64) * 256 / 360).astype(np.int64)
            out += (steps % 256).astype(np.uint8).tobytes()
        return out

    @classmethod
    def from_blob(cls, blob: bytes) -> LocalFeatures:
        if len(blob) < _HEADER.size:
            raise InvalidFeatures("local-feature blob is truncated")
        magic, n, width, height = _HEADER.unpack_from(blob)
        if magic not in (_MAGIC, _MAGIC_V1):
            raise InvalidFeatures(f"unknown local-feature format {magic!r}")
        v2 = magic == _MAGIC
        if len(blob) != _HEADER.size + n * (8 + 32 + (1 if v2 else 0)):
            raise InvalidFeatures("local-feature blob has the wrong length")
        off = _HEADER.size
        points = np.frombuffer(blob, "<f4", n * 2, off).reshape(n, 2).astype(np.float32)
        desc = np.frombuffer(blob, np.uint8, n * 32, off + n * 8).reshape(n, 32).copy()
        angles = None
        if v2:
            steps = np.frombuffer(blob, np.uint8, n, off + n * 40)
            angles = (steps.astype(np.float32) * np.float32(360 / 256)).astype(np.float32)
        return cls(points, desc, width, height, angles)


# CLAHE and a low FAST threshold give low-contrast images (microscopy, fundus,
# moon) enough keypoints; ORB still keeps only the N_FEATURES strongest, so
# textured images are unaffected. Measured: crop-50% misses 4 -> 2 of 22.
#
# OpenCV algorithm objects keep working buffers between calls (CLAHE's tiles
# and lookup table), so one object shared by threads mixes two images'
# results: each thread keeps its own. They are cheap to keep and not worth
# rebuilding per image.
_local = threading.local()


def _clahe() -> cv2.CLAHE:
    clahe = getattr(_local, "clahe", None)
    if clahe is None:
        clahe = _local.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return clahe


# A crop keeping 50% is a 2x zoom of the entry: the query's own 8-level
# pyramid (1.2^7 = 3.6x) meets the entry's fine levels only at its coarsest
# levels, where ORB keeps few points. A query therefore also brings the
# features of its picture at half size (points mapped back to the 640 frame).
# Only queries: on an entry the two scales would make near-duplicate
# descriptors that the ratio test in `verify` then throws away.
# Measured on benchmarks/matching_accuracy.py: see matching/README.md.
COARSE_SIDE = FEATURE_SIDE // 2
COARSE_FEATURES = 350


# Small images are enlarged to MAX_UPSCALE times their size, or to
# MIN_DETECT_SIDE on the long side if that is more, never beyond FEATURE_SIDE.
# Enlarged 6x, ORB's FAST corners are interpolation ripples that CLAHE
# amplifies, different on every copy (skimage's 102 px microaneurysms at
# 640 px: 4% of the entry's keypoints recur within 2 px on a copy with a
# sticker; at 2.5x: 46%); below ~320 px a small crop of it keeps too few
# corners at ORB's 31 px patch. Keypoints are still reported in the
# FEATURE_SIDE frame. Measured on microaneurysms' transformed copies
# (sticker, screenshots, crops 50-80%, caption, mirror + crop, 0.5x),
# accepted of 10: 640 px always 7, 2.5x 8, 2.5x or 320 px 10.
MAX_UPSCALE = 2.5
MIN_DETECT_SIDE = 320


def _detection_image(gray: np.ndarray, side: int) -> tuple[np.ndarray, float, float]:
    """The CLAHE-equalised grey image ORB runs on for `side`: (image, frame, scale).

    `frame` maps source pixels to the `side` frame points are reported in,
    `scale` to the image returned (they differ when MAX_UPSCALE caps an
    enlargement).
    """
    h, w = gray.shape[:2]
    frame = side / max(h, w)
    scale = min(frame, max(MAX_UPSCALE, MIN_DETECT_SIDE * side / FEATURE_SIDE / max(h, w)))
    if abs(scale - 1) > 0.01:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        gray = cv2.resize(gray, size, interpolation=interp)
    return _clahe().apply(gray), frame, scale


def _arrays(found, frame: float, scale: float):
    """(points in the frame of `side`, descriptors or None, frame, angles in degrees).

    `found` is `orb.Levels.arrays()` (or `.mirrored()`) of the detection image.
    """
    points, desc, angles, _ = found
    if desc is None or not len(points):
        return np.zeros((0, 2), np.float32), None, frame, np.zeros(0, np.float32)
    if scale != frame:
        points = points * np.float32(frame / scale)
    return points, desc, frame, angles


def _detect(gray: np.ndarray, side: int, n: int, mirrored: bool = False):
    """ORB on the grey image scaled to `side` on its long side.

    Returns (points, descriptors or None, scale, angles in degrees), and with
    `mirrored` the same of the mirrored image as a second tuple: ORB finds
    the same keypoints on a mirrored image, mirrored, so only their
    descriptors are computed on it (`orb.Levels.mirrored`; detection is 3/4 of
    ORB's cost). Identical to detection on the mirrored image on skimage's
    photos (tests/matching/test_mirrored_features.py).

    Points are in the frame of `side`, even when the image was enlarged less
    (MAX_UPSCALE) to find them.
    """
    img, frame, scale = _detection_image(gray, side)
    levels = Levels(img, n)
    plain = _arrays(levels.arrays(), frame, scale)
    if not mirrored:
        return plain
    return plain, _arrays(levels.mirrored(), frame, scale)


def _features(parts, width: int, height: int) -> LocalFeatures:
    parts = [p for p in parts if p[1] is not None and len(p[0])]
    if not parts:
        empty = (np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
        return LocalFeatures(*empty, width, height, np.zeros(0, np.float32))
    points = np.concatenate([p[0] for p in parts]).astype(np.float32)
    desc = np.concatenate([p[1] for p in parts])
    angles = np.concatenate([p[2] for p in parts]).astype(np.float32)
    return LocalFeatures(points, desc, width, height, angles)


def _frame_size(w: int, h: int, scale: float) -> tuple[int, int]:
    if abs(scale - 1) <= 0.01:
        return w, h
    return max(1, round(w * scale)), max(1, round(h * scale))


def extract_features(
    rgb: np.ndarray, *, coarse: bool = False, n: int = N_FEATURES
) -> LocalFeatures:
    """The `n` strongest ORB keypoints of the image scaled to FEATURE_SIDE on its long side.

    Small images are enlarged too: a 128-pixel crop has almost no keypoints
    at ORB's 31-pixel patch size, and enlarged it matches its source well.
    `coarse` (queries only) adds the keypoints of the image at COARSE_SIDE.
    """
    h, w = rgb.shape[:2]
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    points, desc, scale, angles = _detect(gray, FEATURE_SIDE, n)
    parts = [(points, desc, angles)]
    if coarse:
        cpoints, cdesc, cscale, cangles = _detect(gray, COARSE_SIDE, COARSE_FEATURES)
        parts.append((cpoints * np.float32(scale / cscale), cdesc, cangles))
    return _features(parts, *_frame_size(w, h, scale))


def extract_query_features(
    rgb: np.ndarray, *, coarse: bool = True, reduced: np.ndarray | None = None
) -> tuple[LocalFeatures, LocalFeatures]:
    """`extract_features(rgb, coarse=coarse)` and the same of the mirrored image.

    The mirrored side reuses the image's keypoints (see `orb.Levels.mirrored`)
    and the image's grey reductions, mirrored, instead of decoding a mirrored
    copy of the full-size pixels (on a 2 MP upload that copy alone cost more
    than ORB at 640 px).

    `reduced` is `rgb` already reduced (INTER_AREA) to FEATURE_SIDE on its
    long side, as `hashing.compute_hashes` reduces it for PDQ; ORB then
    starts from its grey instead of reducing the full-size grey again (see
    `_query_gray`).
    """
    gray = _query_gray(rgb, reduced)
    h, w = gray.shape[:2]
    sides = [(FEATURE_SIDE, N_FEATURES)] + ([(COARSE_SIDE, COARSE_FEATURES)] if coarse else [])
    plain, mirrored, scale = [], [], 1.0
    for side, n in sides:
        a, b = _detect(gray, side, n, mirrored=True)
        if side == FEATURE_SIDE:
            scale = a[2]
        shift = np.float32(scale / a[2])
        plain.append((a[0] * shift, a[1], a[3]))
        mirrored.append((b[0] * shift, b[1], b[3]))
    size = _frame_size(w, h, scale)
    return _features(plain, *size), _features(mirrored, *size)


def _query_gray(rgb: np.ndarray, reduced: np.ndarray | None) -> np.ndarray:
    """The grey image a query's features are found on: the reduced copy's when it fits.

    On a 2 MP upload (decoded at 960 x 540) the full-size grey conversion and
    its 1.5x INTER_AREA reduction cost ~1.3 ms; the grey of the hashes' own
    reduction costs ~0.1. The two differ by rounding (each channel reduced,
    then weighted, instead of the reverse), as a re-encoded copy would; bank
    entries keep `extract_features`' order.
    """
    if reduced is not None and max(reduced.shape[:2]) == FEATURE_SIDE:
        return cv2.cvtColor(np.ascontiguousarray(reduced), cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


@dataclass(frozen=True)
class Verification:
    inliers: int
    matches: int
    scale: float
    # bounding box of the inliers in the entry, as a share of the entry's area
    spread: float = 0.0
    # guided count under the RANSAC transform (see `verify`), and its spread
    guided: int = 0
    guided_spread: float = 0.0


# Guided count: once RANSAC has a transform, a query keypoint confirms it when
# one of its GUIDED_K nearest entry descriptors (no ratio test) lies within
# GUIDED_RADIUS pixels of where the transform puts it and its orientation
# differs from the query keypoint's by the transform's rotation, within
# GUIDED_ANGLE degrees. Each entry keypoint confirms once.
GUIDED_K = 2
GUIDED_RADIUS = 6.0
GUIDED_ANGLE = 20.0


def verify(query: LocalFeatures, entry: LocalFeatures, ratio: float = 0.8) -> Verification:
    """Ratio-test matches between two images, then RANSAC on a similarity transform."""
    if len(query) < 2 or len(entry) < 2:
        return Verification(0, 0, 0.0)
    # the brute-force k-nearest search BFMatcher.knnMatch runs, as arrays: the
    # same neighbours in the same order (identical verifications on 507 query /
    # entry pairs), without a Python object per pair: ~10% of a verification
    dist, nidx = cv2.batchDistance(
        query.descriptors,
        entry.descriptors,
        cv2.CV_32S,
        normType=cv2.NORM_HAMMING,
        K=max(2, GUIDED_K),
    )
    good = np.flatnonzero(dist[:, 0] < ratio * dist[:, 1])
    if len(good) < 4:
        return Verification(0, len(good), 0.0)
    matched = nidx[good, 0]
    src = query.points[good]
    dst = entry.points[matched]
    model, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=6.0, maxIters=2000, confidence=0.995
    )
    if model is None or mask is None:
        return Verification(0, len(good), 0.0)
    scale = float(np.hypot(model[0, 0], model[1, 0]))
    if not MIN_SCALE <= scale <= MAX_SCALE:
        # chance correspondences fit best by collapsing everything onto a few
        # points (scale near 0): measured on distinct skimage pairs, 0.00-0.08
        return Verification(0, len(good), scale)
    inl = mask.ravel().astype(bool)
    pts = dst[inl]
    spread = float(np.ptp(pts[:, 0]) * np.ptp(pts[:, 1])) / max(1, entry.width * entry.height)
    # count entry keypoints, not pairs: a query's two scales can pair the same
    # entry point twice, which would let chance inliers count double
    confirmed = len(np.unique(matched[inl]))
    guided, guided_spread = _guided(query, entry, nidx, model)
    return Verification(confirmed, len(good), scale, spread, guided, guided_spread)


def _guided(query: LocalFeatures, entry: LocalFeatures, nidx, model) -> tuple[int, float]:
    """Entry keypoints confirming `model` among the GUIDED_K nearest neighbours (see above)."""
    if query.angles is None or entry.angles is None:
        return 0, 0.0
    qi = np.repeat(np.arange(len(nidx), dtype=np.int64), GUIDED_K)
    ei = nidx[:, :GUIDED_K].ravel().astype(np.int64)
    lin, shift = model[:, :2].astype(np.float32), model[:, 2].astype(np.float32)
    proj = query.points[qi] @ lin.T + shift
    near = ((proj - entry.points[ei]) ** 2).sum(axis=1) <= GUIDED_RADIUS**2
    # ORB measures orientation in image coordinates (y down); the similarity
    # turns a keypoint's direction by the model's angle
    turn = np.degrees(np.arctan2(model[1, 0], model[0, 0]))
    diff = (entry.angles[ei] - query.angles[qi] - turn + 180.0) % 360.0 - 180.0
    ok = near & (np.abs(diff) <= GUIDED_ANGLE)
    qi, ei = qi[ok], ei[ok]
    if not len(ei):
        return 0, 0.0
    count = min(len(np.unique(qi)), len(np.unique(ei)))
    pts = entry.points[np.unique(ei)]
    spread = float(np.ptp(pts[:, 0]) * np.ptp(pts[:, 1])) / max(1, entry.width * entry.height)
    return count, spread
