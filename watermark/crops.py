"""Keyed synchronization for small crops: the sync lines' power read between the bins.

A crop keeping 10-28% of the area holds one to two tiles along its long
side: its lattice has a period of 240-450 working pixels and angle 0, and
puts a sync line of tile frequency k at k / P cycles per pixel, i.e. 20-60
bins of the working image's spectrum, anywhere between two bins. The tile
repeats, so the line is one tone over the whole crop, and its DFT a sinc
whose nearest samples can hold as little as 40% of its power per axis;
`comb.py` reads the power bilinearly between those samples, which both
loses the line (the true lattice ranks under texture peaks) and pulls its
period towards the bin grid (by 1-1.6% on 15% crops, where the pilot's z
falls from 11.6 at the true period to 5.1).

Here the spectrum is oversampled: the working image is shrunk by DOWN
(the lines of a period over P_LO lie under its Nyquist frequency) and
zero-padded ZOOM times, so that bins are a third as wide, and flattened
like `whitening.flat_power`. The key's 6 lines are read at angle 0 under
the 4 dihedral transforms that move a power spectrum (`lattice.POWER_TURNS`),
every period of [P_LO, period_limit] on a 0.5% grid, then 0.05% around
the best. The slot proposes that one lattice (counted in
`hypotheses.HYPOTHESES`). Like the comb it reads power at key-chosen
positions only, never a chip's sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft as sfft

from .lattice import Lattice
from .pattern import Pattern, frozen

SLOTS = 1  # lattices proposed per key (counted in hypotheses.HYPOTHESES)
# Periods searched: from P_LO (a crop keeping ~53% of the width) to the
# longest the working image holds. Shrunk by DOWN, the image's Nyquist is
# 0.125 cycles per working pixel, above the lines' highest component
# (27.8 / P_LO = 0.116: SYNC_R_HI at SYNC_AXIS_MARGIN off an axis). A whole
# factor, so the shrink is OpenCV's block mean (0.2 ms; 0.75 ms at 2.5).
P_LO = 240.0
DOWN = 4
ZOOM = 3
_STEP = 0.005
_FINE = np.exp(np.arange(-10, 11) * 0.0005)
# The fast test folds the slot's lattice only when its score (the 6 lines'
# flattened power, a host bin ~1) reaches FAST_FLOOR (see README.md).
FAST_FLOOR = 16.0


@dataclass(frozen=True)
class Zoomed:
    """The oversampled, flattened power of the working images (key-free, one per image)."""

    p: np.ndarray  # rows fftshifted (zero frequency at row p.shape[0] // 2), rfft2 columns
    scale: tuple[float, float]  # bins of p per cycle per working pixel, along y and x
    periods: np.ndarray  # the coarse period grid searched


def prepare(works: list[np.ndarray], p_max: float) -> Zoomed | None:
    """The zoomed spectrum of working images of one shape; None when no period over P_LO fits."""
    if p_max <= P_LO * (1.0 + 4 * _STEP):
        return None
    h, w = works[0].shape
    hs, ws = h // DOWN, w // DOWN
    # FFT lengths: ZOOM times the largest 5-smooth length under each side
    ny, nx = ZOOM * _smooth_size(hs), ZOOM * _smooth_size(ws)
    total = None
    for r in works:
        if r.shape != works[0].shape:
            continue
        # DOWN x DOWN block means: small pixel (i, j) spans working pixels
        # DOWN i .. DOWN i + DOWN - 1, so f cycles per working pixel is
        # f DOWN nx bins along x
        # (OpenCV's area resize by a whole factor: block means, 6x faster than NumPy's)
        small = cv2.resize(r[: hs * DOWN, : ws * DOWN], (ws, hs), interpolation=cv2.INTER_AREA)
        # the zero rows need no transform along x: rows first, then columns
        spec = sfft.fft(sfft.rfft(small, n=nx, axis=1), n=ny, axis=0)
        power = spec.real**2 + spec.imag**2
        total = power if total is None else total + power
    # every ZOOM-th bin is the spectrum at the unpadded spacing: the host's
    # level is smoothed there over 4 bins, as in `whitening.flat_power`
    smooth = cv2.GaussianBlur(np.fft.fftshift(total[::ZOOM, ::ZOOM], axes=0), (0, 0), 4.0)
    p = np.fft.fftshift(total, axes=0)
    # resized onto p's grid (within a bin of p: nothing, for a level blurred over 4 bins)
    level = cv2.resize(smooth, (p.shape[1], p.shape[0]), interpolation=cv2.INTER_LINEAR)
    p /= level + 1e-6 * float(smooth.mean()) + 1e-12
    periods = np.exp(np.arange(np.log(P_LO), np.log(p_max), _STEP))
    frozen(p, periods)
    return Zoomed(p, (float(DOWN * ny), float(DOWN * nx)), periods)


def _smooth_size(n: float) -> int:
    """The largest 2^a 3^b 5^c <= n (at least 1)."""
    m = max(1, int(n))
    while True:
        k = m
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return m
        m -= 1


def _lines(pat: Pattern) -> tuple[np.ndarray, np.ndarray]:
    """The key's sync lines (tile cycles) under each transform of `POWER_TURNS`, each turned into
    the half plane x >= 0 (a power spectrum reads -f as f): transforms x lines, float32."""
    kx, ky = pat.kx[pat.sync].astype(np.float32), pat.ky[pat.sync].astype(np.float32)
    tx = np.stack([kx, -ky, -kx, ky])  # POWER_TURNS applied to (kx, ky)
    ty = np.stack([ky, kx, ky, kx])
    sign = np.where(tx < 0, np.float32(-1.0), np.float32(1.0))
    return tx * sign, ty * sign


def _scores(z: Zoomed, lines: tuple[np.ndarray, np.ndarray], periods: np.ndarray) -> np.ndarray:
    """The lines' summed flattened power per (transform of `POWER_TURNS`, period), at angle 0."""
    kx, ky = lines
    inv = (1.0 / periods).astype(np.float32)[None, :, None]
    bx = (kx[:, None, :] * (inv * np.float32(z.scale[1]))).reshape(1, -1)
    by = (ky[:, None, :] * (inv * np.float32(z.scale[0]))).reshape(1, -1)
    by += np.float32(z.p.shape[0] // 2)
    power = cv2.remap(z.p, bx, by, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return power.reshape(kx.shape[0], periods.size, kx.shape[1]).sum(axis=-1)


def find(z: Zoomed | None, pat: Pattern, floor: float | None = None) -> list[Lattice]:
    """The angle-0 lattice over P_LO whose lines carry the most power (SLOTS of them).

    With a floor, nothing when its score is under it (`FAST_FLOOR`).
    """
    if z is None:
        return []
    lines = _lines(pat)
    s = _scores(z, lines, z.periods)
    d, i = np.unravel_index(int(np.argmax(s)), s.shape)
    fine = z.periods[i] * _FINE
    sf = _scores(z, (lines[0][d : d + 1], lines[1][d : d + 1]), fine)[0]
    j = int(np.argmax(sf))
    score = float(sf[j])
    if floor is not None and score < floor:
        return []
    return [Lattice(float(fine[j]), 0.0, score)]
