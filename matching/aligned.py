"""Aligned comparison: is this upload a region of that picture, once its geometry is known?

The local-feature stage finds a crop of a banked picture without knowing
where it came from, so it needs enough keypoints in the crop to beat chance:
a quarter of a picture that is mostly sky has too few. When something else
has already measured the geometry (the watermark's synchronization gives the
scale, the rotation and the mirror), the question left is only *where*: the
upload, brought to the stored thumbnail's scale and orientation, is slid over
the thumbnail and the best normalized correlation of their band-passed
luminance is the answer. With four of the five degrees of freedom fixed from
outside, chance stays low even for small regions.

Measured on the bundled pictures (`benchmarks/durable_credentials.py`, the
scikit-image set): a true crop, rotation, re-share or screenshot of the
picture scores 0.53-1.00 (screenshots, whose page border dilutes the
correlation, are the low end; crops to 25% of the area score >= 0.97), a
region of any other picture under the same geometry at most 0.25 (a corner
crop against the thumbnails of the 14 others).
"""

from __future__ import annotations

import cv2
import numpy as np

# the long side of a stored thumbnail; 25% crops of it are 128 x 85
THUMB_SIDE = 256
# a match needs this correlation (chance reaches 0.25, the weakest true pair 0.53)
MIN_CORRELATION = 0.45
# a region smaller than this (either side, thumbnail pixels) is not compared:
# chance correlations rise as the compared area shrinks
MIN_REGION = 40
# the band compared: detail from ~3 to ~25 thumbnail pixels (luminance structure,
# not the flat areas that two unrelated skies share)
_FINE, _COARSE = 1.0, 4.0


def _gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _resized(gray: np.ndarray, factor: float) -> np.ndarray:
    h, w = gray.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(gray, size, interpolation=interp)


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """The picture's luminance at THUMB_SIDE on its long side (uint8)."""
    gray = _gray(rgb)
    out = _resized(gray, THUMB_SIDE / max(gray.shape))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def thumbnail_blob(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", thumbnail(rgb))
    if not ok:  # pragma: no cover - PNG encoding of a uint8 plane does not fail
        raise ValueError("thumbnail could not be encoded")
    return buf.tobytes()


def thumbnail_from_blob(blob: bytes) -> np.ndarray | None:
    """The stored thumbnail, None when the blob is not one."""
    arr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None or arr.ndim != 2 or max(arr.shape) > 4 * THUMB_SIDE:
        return None
    return arr


def aligned_view(
    rgb: np.ndarray, factor: float, rotation: float = 0.0, flipped: bool = False
) -> np.ndarray:
    """The upload in the thumbnail's frame: scaled by `factor`, the measured turn undone.

    `factor` is thumbnail pixels per upload pixel; `rotation` (degrees) and
    `flipped` are the upload's geometry relative to the picture as the
    watermark reports it (a rotation of the picture by +a is reported as -a;
    the turn is undone first, then the mirror). The corners a small turn leaves
    empty are cut off (uint8).
    """
    view = _resized(_gray(rgb), factor)
    quarter = round(rotation / 90.0)
    rest = rotation - 90.0 * quarter
    if quarter % 4:
        view = np.rot90(view, -(quarter % 4))
    if abs(rest) > 0.05:
        h, w = view.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), rest, 1.0)
        view = cv2.warpAffine(view, m, (w, h), flags=cv2.INTER_LINEAR)
        t = np.sin(np.radians(abs(rest)))
        my, mx = int(np.ceil(t * w)) + 1, int(np.ceil(t * h)) + 1
        view = view[my : max(my, h - my), mx : max(mx, w - mx)]
    if flipped:
        view = view[:, ::-1]
    return np.ascontiguousarray(np.clip(np.rint(view), 0, 255).astype(np.uint8))


def _band(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    return cv2.GaussianBlur(g, (0, 0), _FINE) - cv2.GaussianBlur(g, (0, 0), _COARSE)


def aligned_similarity(view: np.ndarray, thumb: np.ndarray) -> float:
    """Best normalized correlation of the view inside the thumbnail (or the thumbnail
    inside the view, for a screenshot whose page surrounds the picture); 0.0 when the
    compared region is under MIN_REGION on a side."""
    a, b = _band(view), _band(thumb)
    if a.shape[0] <= b.shape[0] and a.shape[1] <= b.shape[1]:
        template, image = a, b
    elif a.shape[0] >= b.shape[0] and a.shape[1] >= b.shape[1]:
        template, image = b, a
    else:
        # wider but shorter (or the reverse): the view's middle, cut to fit
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        y, x = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
        template, image = a[y : y + h, x : x + w], b
    if min(template.shape) < MIN_REGION or float(template.std()) < 1e-3:
        return 0.0
    scores = cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED)
    return float(np.nan_to_num(scores).max())


__all__ = [
    "MIN_CORRELATION",
    "THUMB_SIDE",
    "aligned_similarity",
    "aligned_view",
    "thumbnail",
    "thumbnail_blob",
    "thumbnail_from_blob",
]
