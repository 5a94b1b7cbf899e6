"""A lattice of the mark's tiling, and the fold that undoes it.

The mark is a tile repeated on a square lattice: its period (working pixels
per tile) and angle give the scale and rotation (modulo 90 degrees) of an
edited copy. Folding resamples the image so that lattice becomes the
nominal one and sums it modulo the tile, which leaves of any translation a
cyclic shift of one T x T tile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .pattern import T

# Search range of the lattice period in working pixels (nominal: 128). A
# crop keeping 15% of the area has a period of 128 / sqrt(0.15) = 330, one
# keeping 10% 405: up to 300 (and at most 0.6 of the long side) none of them
# was found over 15 images x 2 keys; up to 450, and 0.9 of the long side
# (~1.1 tiles), 0.73 and 0.67 of them, every other row unchanged. The comb
# still proposes its 4 lattices, so the bound does not move. (Since then the
# crop slot, `crops.py`, reads these periods between the spectrum's bins.)
P_MIN, P_MAX = 40.0, 450.0


def period_limit(shape: tuple[int, int]) -> float:
    """The longest period worth trying in a working image of this shape (~1.1 tiles)."""
    return min(P_MAX, max(shape) * 0.9)


@dataclass(frozen=True)
class Lattice:
    period: float  # working pixels per tile (along x, for a rectangular lattice)
    angle: float  # degrees, in [-45, 45)
    score: float
    # A rectangular lattice (one axis of the upload scaled: "fit to 4:5"):
    # its period along y over the one along x, and the axis whose period was
    # estimated ("x" or "y"); the other's is known (4 tiles along it, as drawn).
    aspect: float = 1.0
    free: str = ""
    # A projective lattice (an upload seen at a slant, `keystone.py`): the
    # 3 x 3 homography (row-major) from the rectified image, where this
    # lattice lies, to the working image; None for the others.
    warp: tuple[float, ...] | None = None

    @property
    def periods(self) -> tuple[float, float]:
        """Working pixels per tile along x and y."""
        return self.period, self.period * self.aspect

    @property
    def key(self) -> tuple:
        return self.period, self.angle, self.aspect, self.warp

    def offset(self, factor: float, turn: float) -> Lattice:
        """This lattice with its estimated period scaled and its angle turned (a local offset)."""
        angle = self.angle + turn
        if self.free == "y":
            return replace(self, angle=angle, aspect=self.aspect * factor)
        if self.free == "x":
            return replace(
                self, angle=angle, period=self.period * factor, aspect=self.aspect / factor
            )
        return Lattice(self.period * factor, angle, self.score, warp=self.warp)


# Whole-image resizes, recompression and colour changes leave the lattice
# exactly where embedding put it (the working resolution undoes any resize):
# that hypothesis is tried first, before any autocorrelation is computed, and
# counted like the others (the detector asks for `find_lattices` only if needed, `folds.py`).
NOMINAL = Lattice(period=float(T), angle=0.0, score=float("inf"))

# The dihedral transforms of a tile frequency (kx, ky) -> (a kx + b ky,
# c kx + d ky) that move a power spectrum: of the 8, the other 4 are these
# turned by 180 degrees, i.e. (kx, ky) negated, under which the power of a
# real image is the same (`comb.sample_power` reads -f as f), so they would
# score the same. Which transform it is, the fold's sync screen finds.
POWER_TURNS = np.array(
    [
        [[1, 0], [0, 1]],
        [[0, -1], [1, 0]],
        [[-1, 0], [0, 1]],
        [[0, 1], [1, 0]],
    ],
    dtype=float,
)


def rectify(r: np.ndarray, warp) -> np.ndarray:
    """The image brought into the frame `warp` (3 x 3, rectified -> image coordinates) maps from."""
    h, w = r.shape
    homography = np.asarray(warp, dtype=np.float64).reshape(3, 3)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpPerspective(r, homography, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)


def same_lattice(p: float, t: float, f: Lattice) -> bool:
    """Within 4% in period and 2 degrees (mod 90) of a lattice already found."""
    dt = abs((t - f.angle + 45.0) % 90.0 - 45.0)
    return abs(np.log(p / f.period)) < 0.04 and dt < 2.0


# Tile sizes a fold may be resampled to (5-smooth, for the FFT). The ring
# the scores read ends at R_HI = 40 cycles per tile, so a tile of 90 samples
# (Nyquist 45) holds every bin: a lattice shorter than T is folded at the
# smallest of these sizes that does not shrink it, instead of being
# enlarged to T, and the warp's cost follows the image's pixels rather than
# (T / period)^2 times them (2.5x on average over the searched periods).
FOLD_SIZES = (90, 96, 100, 108, 120, 128)


def fold_size(period: float) -> int:
    """The tile size a lattice of this period is folded at (`FOLD_SIZES`)."""
    return next((s for s in FOLD_SIZES if s >= period - 1e-9), T)


def fold(r: np.ndarray, lattice: Lattice, size: int = T) -> np.ndarray:
    """Resample so the lattice becomes axis-aligned with period `size`, then sum modulo it."""
    h, w = r.shape
    if lattice.warp is not None:
        r, lattice = rectify(r, lattice.warp), replace(lattice, warp=None)
    px, py = lattice.periods
    if px == T and py == T and lattice.angle == 0.0 and size == T:
        # the nominal lattice: no resampling, only the zero padding to whole tiles
        out = np.zeros((-(-h // T) * T, -(-w // T) * T), dtype=r.dtype)
        out[:h, :w] = r
        return out.reshape(out.shape[0] // T, T, out.shape[1] // T, T).sum(axis=(0, 2))
    kx, ky = size / px, size / py
    if lattice.angle == 0.0:
        # axis-aligned (crops, screenshots): a plain resize is ~8x cheaper than
        # a general warp and differs from it by a constant shift only, which
        # the cyclic shift search absorbs
        # (fx, fy given, not a size: the scale is then exactly kx, ky)
        out = cv2.resize(r, None, fx=kx, fy=ky, interpolation=cv2.INTER_LINEAR)
        bh, bw = out.shape
        tw, th_ = -(-bw // size) * size, -(-bh // size) * size
        out = np.pad(out, ((0, th_ - bh), (0, tw - bw)))
        return out.reshape(th_ // size, size, tw // size, size).sum(axis=(0, 2))
    th = np.deg2rad(lattice.angle)
    c, s = np.cos(th), np.sin(th)
    m = np.array([[c * kx, s * kx, 0.0], [-s * ky, c * ky, 0.0]])  # diag(size/P) R(-theta)
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64)
    mapped = corners @ m[:, :2].T
    lo = mapped.min(axis=0)
    m[:, 2] = -lo
    extent = np.ceil(mapped.max(axis=0) - lo).astype(int) + 1
    bw, bh = -(-extent[0] // size) * size, -(-extent[1] // size) * size
    out = cv2.warpAffine(
        r, m, (int(bw), int(bh)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return out.reshape(bh // size, size, bw // size, size).sum(axis=(0, 2))
