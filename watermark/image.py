"""Input checks and the luminance/reference-resolution plumbing shared by embed and detect."""

from __future__ import annotations

import cv2
import numpy as np

from .errors import BadImage, ImageTooSmall

MIN_SIDE = 256
REF_LONG_SIDE = 512  # the mark is drawn at this resolution, 4 tiles along the long side
# the short side at the reference resolution at least 32 px, a quarter tile: a
# panorama narrower than that holds too little of any tile to read (the crop
# slot shrinks the working image 4x, the keystone grid needs ~22 px of spectrum)
MAX_ASPECT = 16


def check_rgb(rgb, *, sized: bool = True) -> np.ndarray:
    """The image as given, or BadImage; sized=False lets images under MIN_SIDE through."""
    if not isinstance(rgb, np.ndarray):
        raise BadImage(f"expected a numpy array, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise BadImage(f"expected an H x W x 3 RGB array, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise BadImage(f"expected uint8 pixels, got {rgb.dtype}")
    reason = too_small(rgb) if sized else None
    if reason:
        raise ImageTooSmall(reason)
    return rgb


def too_small(rgb: np.ndarray) -> str | None:
    """Why an image cannot carry the mark (under MIN_SIDE on a side, or a long side over
    MAX_ASPECT times the short one), None when it can."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        return f"too small to carry a mark: {w} x {h} px, at least {MIN_SIDE} x {MIN_SIDE} needed"
    if max(h, w) > MAX_ASPECT * min(h, w):
        return (
            f"too narrow to carry a mark: {w} x {h} px, "
            f"the long side at most {MAX_ASPECT} times the short one"
        )
    return None


def luminance(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def ref_size(h: int, w: int, long_side: int = REF_LONG_SIDE) -> tuple[int, int]:
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    shrink = h * w < img.shape[0] * img.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(img, (w, h), interpolation=interp)
