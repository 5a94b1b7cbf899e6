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
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InvalidFeatures

FEATURE_SIDE = 640
N_FEATURES = 700
# plausible query-to-entry scales (both sides are normalised to FEATURE_SIDE,
# so a crop keeping 50% maps at 0.5, a copy with wide bars at up to ~2)
MIN_SCALE = 0.2
MAX_SCALE = 5.0
_MAGIC = b"ORB1"
_HEADER = struct.Struct("<4sHHH")


@dataclass(frozen=True)
class LocalFeatures:
    """ORB keypoints of one image reduced to FEATURE_SIDE on its long side."""

    points: np.ndarray  # (N, 2) float32 x, y
    descriptors: np.ndarray  # (N, 32) uint8
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.points)

    def to_blob(self) -> bytes:
        n = len(self.points)
        head = _HEADER.pack(_MAGIC, n, self.width, self.height)
        return (
            head
            + np.ascontiguousarray(self.points, dtype="<f4").tobytes()
            + np.ascontiguousarray(self.descriptors, dtype=np.uint8).tobytes()
        )

    @classmethod
    def from_blob(cls, blob: bytes) -> LocalFeatures:
        if len(blob) < _HEADER.size:
            raise InvalidFeatures("local-feature blob is truncated")
        magic, n, width, height = _HEADER.unpack_from(blob)
        if magic != _MAGIC:
            raise InvalidFeatures(f"unknown local-feature format {magic!r}")
        if len(blob) != _HEADER.size + n * 8 + n * 32:
            raise InvalidFeatures("local-feature blob has the wrong length")
        off = _HEADER.size
        points = np.frombuffer(blob, "<f4", n * 2, off).reshape(n, 2).astype(np.float32)
        desc = np.frombuffer(blob, np.uint8, n * 32, off + n * 8).reshape(n, 32).copy()
        return cls(points, desc, width, height)


# CLAHE and a low FAST threshold give low-contrast images (microscopy, fundus,
# moon) enough keypoints; ORB still keeps only the N_FEATURES strongest, so
# textured images are unaffected. Measured: crop-50% misses 4 -> 2 of 22.
_clahe_obj = None
_detectors: dict[int, cv2.ORB] = {}

# A crop keeping 50% is a 2x zoom of the entry: the query's own 8-level
# pyramid (1.2^7 = 3.6x) meets the entry's fine levels only at its coarsest
# levels, where ORB keeps few points. A query therefore also brings the
# features of its picture at half size (points mapped back to the 640 frame).
# Only queries: on an entry the two scales would make near-duplicate
# descriptors that the ratio test in `verify` then throws away.
# Measured on benchmarks/matching_accuracy.py: see matching/README.md.
COARSE_SIDE = FEATURE_SIDE // 2
COARSE_FEATURES = 350


def _clahe():
    global _clahe_obj
    if _clahe_obj is None:
        _clahe_obj = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return _clahe_obj


def _detector(n: int = N_FEATURES):
    # ORB objects are cheap to keep and not worth rebuilding per image
    if n not in _detectors:
        _detectors[n] = cv2.ORB_create(nfeatures=n, scaleFactor=1.2, nlevels=8, fastThreshold=5)
    return _detectors[n]


def _detect(gray: np.ndarray, side: int, n: int) -> tuple[np.ndarray, np.ndarray | None, float]:
    """ORB on the grey image scaled to `side` on its long side: (points, descriptors, scale)."""
    h, w = gray.shape[:2]
    scale = side / max(h, w)
    if abs(scale - 1) > 0.01:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        gray = cv2.resize(gray, size, interpolation=interp)
    gray = _clahe().apply(gray)
    keypoints, desc = _detector(n).detectAndCompute(gray, None)
    if desc is None or not keypoints:
        return np.zeros((0, 2), np.float32), None, scale
    return np.array([k.pt for k in keypoints], dtype=np.float32), desc, scale


def extract_features(rgb: np.ndarray, *, coarse: bool = False) -> LocalFeatures:
    """ORB keypoints of the image scaled to FEATURE_SIDE on its long side.

    Small images are enlarged too: a 128-pixel crop has almost no keypoints
    at ORB's 31-pixel patch size, and enlarged it matches its source well.
    `coarse` (queries only) adds the keypoints of the image at COARSE_SIDE.
    """
    h, w = rgb.shape[:2]
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    points, desc, scale = _detect(gray, FEATURE_SIDE, N_FEATURES)
    width, height = max(1, round(w * scale)), max(1, round(h * scale))
    if abs(scale - 1) <= 0.01:
        width, height = w, h
    parts = [(points, desc)]
    if coarse:
        cpoints, cdesc, cscale = _detect(gray, COARSE_SIDE, COARSE_FEATURES)
        parts.append((cpoints * np.float32(scale / cscale), cdesc))
    parts = [(p, d) for p, d in parts if d is not None and len(p)]
    if not parts:
        empty = (np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
        return LocalFeatures(*empty, width, height)
    points = np.concatenate([p for p, _ in parts]).astype(np.float32)
    desc = np.concatenate([d for _, d in parts])
    return LocalFeatures(points, desc, width, height)


@dataclass(frozen=True)
class Verification:
    inliers: int
    matches: int
    scale: float
    # bounding box of the inliers in the entry, as a share of the entry's area
    spread: float = 0.0


_bf = cv2.BFMatcher(cv2.NORM_HAMMING)


def verify(query: LocalFeatures, entry: LocalFeatures, ratio: float = 0.8) -> Verification:
    """Ratio-test matches between two images, then RANSAC on a similarity transform."""
    if len(query) < 2 or len(entry) < 2:
        return Verification(0, 0, 0.0)
    pairs = _bf.knnMatch(query.descriptors, entry.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if len(good) < 4:
        return Verification(0, len(good), 0.0)
    src = query.points[[m.queryIdx for m in good]]
    dst = entry.points[[m.trainIdx for m in good]]
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
    confirmed = len(np.unique(np.array([m.trainIdx for m in good])[inl]))
    return Verification(confirmed, len(good), scale, spread)
