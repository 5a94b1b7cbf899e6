"""Keyed synchronization for an upload with one axis scaled: a rectangular lattice.

"Fit to 4:5" or a careless resize scales one axis of the whole image. The
tiles become rectangles, which no square lattice folds coherently (the
pilot's z falls by a third 0.2% off the true period). The mark was drawn
with TILES_ALONG_LONG_SIDE tiles along its long side, and a whole-image
resize keeps the count of tiles along each axis, so one of the two periods
is known from the working image's shape: w / 4 when the original's long
side was its width, h / 4 when it was its height. Both are tried (the
original's long side may be the upload's short one); only the ratio of the
other axis's period to the known one is searched.

Under periods (Px, Py) a sync line at tile frequency (kx, ky) sits at
(kx / Px, ky / Py) cycles per working pixel; the slot's score is the
spectrally flattened power (`comb.Prepared.p`) summed over the key's 6
lines, for both known axes, the dihedral transforms of the lines and every
ratio of the grid. Like the comb it reads power at key-chosen
positions only, never a chip's sign; the slot adds one lattice (and its
local offsets) to the counted hypotheses (`hypotheses.HYPOTHESES`).
"""

from __future__ import annotations

import numpy as np

from .comb import Prepared, sample_power
from .image import REF_LONG_SIDE
from .lattice import POWER_TURNS, Lattice
from .pattern import Pattern, T

# lattices this search proposes per key (counted in hypotheses.HYPOTHESES)
SLOTS = 1
TILES_ALONG_LONG_SIDE = REF_LONG_SIDE // T  # 4: how the mark is drawn
# ratios of the estimated period to the known one: one axis scaled by
# 0.74-1.36 (the targets are 0.8-1.25), 0.5% apart (a line's peak in the
# flattened power is ~2% wide in the ratio at 512 px); within 0.5% of 1 the
# lattice is square, which the other searches cover. Then 0.1% steps around
# the best: the pilot's z falls by a third 0.2% off the true period.
_RATIOS = np.exp(np.arange(np.log(0.74), np.log(1.36), 0.005))
_RATIOS = _RATIOS[np.abs(np.log(_RATIOS)) > 0.005]
_FINE = np.exp(np.arange(-5, 6) * 0.001)
# The fast test proposes the slot's lattice only when its score (the sum of
# the 6 lines' flattened power, a host bin ~1) reaches FAST_FLOOR: marked
# uploads with one axis scaled scored 26.4 and up (150 reads, grass lowest),
# unmarked ones at most 12.7 (600 reads), so an unmarked upload does not pay
# its fold.
FAST_FLOOR = 18.0


def _scores(prep: Prepared, pat: Pattern, ratios: np.ndarray) -> np.ndarray:
    """Score per (known axis x / y, transform of `POWER_TURNS`, ratio Py / Px), in one sampling."""
    h, w = prep.shape
    k = np.stack([pat.kx[pat.sync], pat.ky[pat.sync]]).astype(float)  # 2 x lines
    kx, ky = np.einsum("dij,jl->idl", POWER_TURNS, k)  # each transforms x lines
    r = ratios[None, :, None]
    # known x: Px = w / 4, Py = ratio Px; known y: Py = h / 4, Px = Py / ratio
    px, py = w / TILES_ALONG_LONG_SIDE, h / TILES_ALONG_LONG_SIDE
    shape = (len(POWER_TURNS), r.size, kx.shape[1])
    fx = np.stack([np.broadcast_to(kx[:, None, :] / px, shape), kx[:, None, :] * r / py])
    fy = np.stack([ky[:, None, :] / (px * r), np.broadcast_to(ky[:, None, :] / py, shape)])
    return sample_power(prep.p, fx, fy, h, w).sum(axis=-1)


def find(prep: Prepared, pat: Pattern, floor: float | None = None) -> list[Lattice]:
    """The rectangular lattice whose moved sync lines carry the most power (SLOTS of them).

    With a floor, nothing when its score is under it (`FAST_FLOOR`).
    """
    s = _scores(prep, pat, _RATIOS)
    axis, d, i = np.unravel_index(int(np.argmax(s)), s.shape)
    score = float(s[axis, d, i])
    if floor is not None and score < floor:
        return []
    fine = _RATIOS[i] * _FINE
    ratio = float(fine[int(np.argmax(_scores(prep, pat, fine)[axis, d]))])
    h, w = prep.shape
    if axis == 0:  # the period along x is known
        px = w / TILES_ALONG_LONG_SIDE
        return [Lattice(px, 0.0, score, aspect=ratio, free="y")]
    py = h / TILES_ALONG_LONG_SIDE
    return [Lattice(py / ratio, 0.0, score, aspect=ratio, free="x")]
