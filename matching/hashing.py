"""Full-frame perceptual hashes of one RGB image: PDQ (8 dihedral variants,
with and without letterbox bars) and imagehash's pHash as a second opinion.

Images are reduced to `max_side` (640) pixels on their long side before
hashing: PDQ reduces to 64 x 64 internally anyway, and on a 2 MP image the
reduction cuts its cost about fivefold while moving the hash by 4-12 bits of
the 31 allowed (skimage's retina and hubble). 640 rather than 512 because
at 512 the mirrored retina drifted to 34 bits from its dihedral (8 at 640).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image

from . import codes
from .bars import find_content_box
from .errors import InvalidImage
from .features import FEATURE_SIDE, LocalFeatures, extract_features, extract_query_features

# pdqhash.compute_dihedral's order (checked against np.rot90 / flips of a photo)
DIHEDRAL_NAMES = (
    "original",
    "rot90",
    "rot180",
    "rot270",
    "flip_vertical",
    "flip_horizontal",
    "transpose",
    "transverse",
)
MIN_SIDE = 16
DEFAULT_MAX_SIDE = 640


@dataclass(frozen=True)
class Hashes:
    """Every hash of one image; codes are raw bytes (32 for PDQ, 8 for pHash)."""

    pdq: bytes
    quality: int
    # the 8 dihedral variants, in DIHEDRAL_NAMES order (index 0 is `pdq`)
    pdq_dihedral: tuple[bytes, ...]
    # the hashes of the picture inside letterbox/pillarbox bars, when there are bars
    pdq_unboxed: bytes | None = None
    unboxed_quality: int | None = None
    pdq_unboxed_dihedral: tuple[bytes, ...] = ()
    # (top, bottom, left, right) of the content inside bars, in source pixels
    content_box: tuple[int, int, int, int] | None = None
    phash: bytes | None = None
    # local features for the second stage (only computed when asked for)
    features: LocalFeatures | None = None
    # the same of the mirrored image: ORB is not mirror-invariant, and a
    # mirrored crop escapes both the dihedral hashes and plain ORB
    features_mirrored: LocalFeatures | None = None
    width: int = 0
    height: int = 0

    @property
    def pdq_hex(self) -> str:
        return self.pdq.hex()

    @property
    def phash_hex(self) -> str | None:
        return self.phash.hex() if self.phash is not None else None

    @property
    def pdq_unboxed_hex(self) -> str | None:
        return self.pdq_unboxed.hex() if self.pdq_unboxed is not None else None


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Validate pixels: H x W x 3 uint8 RGB (gray and RGBA are converted), clear errors."""
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"expected a numpy array of pixels, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidImage(f"expected uint8 pixels, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImage(f"expected H x W x 3 RGB pixels, got shape {image.shape}")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InvalidImage(f"image of {w} x {h} pixels is too small to hash (< {MIN_SIDE})")
    return np.ascontiguousarray(image)


def reduce(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def pdq_dihedral(rgb: np.ndarray) -> tuple[tuple[bytes, ...], int]:
    hashes, quality = pdqhash.compute_dihedral(rgb)
    return tuple(codes.bits_to_bytes(h) for h in hashes), int(quality)


def _phash(rgb: np.ndarray) -> bytes:
    bits = imagehash.phash(Image.fromarray(rgb)).hash
    return codes.bits_to_bytes(bits.reshape(-1))


def compute_hashes(
    rgb: np.ndarray,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    strip_bars: bool = True,
    phash: bool = True,
    features: bool = False,
    mirrored_features: bool = False,
    for_query: bool = False,
) -> Hashes:
    """PDQ (+ dihedrals, + unboxed), pHash and optionally local features of one image.

    `for_query`: the image will be looked up, not banked; its local features
    then also cover a coarser scale (crops of an entry are zooms of it; see
    matching/features.py).
    """
    rgb = as_rgb(rgb)
    height, width = rgb.shape[:2]
    small = reduce(rgb, max_side)
    dihedral, quality = pdq_dihedral(small)
    unboxed = unboxed_quality = box = None
    unboxed_dihedral: tuple[bytes, ...] = ()
    if strip_bars:
        inner = find_content_box(small)
        if inner is not None:
            t, b, left, r = inner
            if min(b - t, r - left) >= MIN_SIDE:
                unboxed_dihedral, unboxed_quality = pdq_dihedral(
                    np.ascontiguousarray(small[t:b, left:r])
                )
                unboxed = unboxed_dihedral[0]
                sy, sx = height / small.shape[0], width / small.shape[1]
                box = (round(t * sy), round(b * sy), round(left * sx), round(r * sx))
    plain = mirrored = None
    # a query's ORB starts from the reduction made for PDQ when it is ORB's size
    shared = small if max_side == FEATURE_SIDE else None
    if features and mirrored_features:
        plain, mirrored = extract_query_features(rgb, coarse=for_query, reduced=shared)
    elif features:
        plain = extract_features(rgb, coarse=for_query)
    elif mirrored_features:
        mirrored = extract_query_features(rgb, coarse=for_query, reduced=shared)[1]
    return Hashes(
        pdq=dihedral[0],
        quality=quality,
        pdq_dihedral=dihedral,
        pdq_unboxed=unboxed,
        unboxed_quality=unboxed_quality,
        pdq_unboxed_dihedral=unboxed_dihedral,
        content_box=box,
        phash=_phash(small) if phash else None,
        features=plain,
        features_mirrored=mirrored,
        width=width,
        height=height,
    )
