"""Folds: the working images and their folds per lattice, shared by every key tried.

Everything here is key-free except the pilot score each fold is tried
with, so a registry of keys pays for the working images, the lattice
estimates and the folds once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.fft as sfft

from . import aspect, comb, crops, keystone
from .correlate import BIN_WEIGHT, normalize_spectrum, pilot_search, sync_supports
from .hypotheses import ALL_TRANSFORMS
from .image import luminance, ref_size, resize
from .lattice import NOMINAL, Lattice, fold, fold_size, period_limit
from .pattern import Pattern, T
from .sync import find_lattices
from .whitening import flat_power, whiten


def working_image(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    rh, rw = ref_size(h, w)
    return whiten(resize(luminance(rgb), rh, rw))


class Folds:
    """The working images and their folds per lattice: key-free, so shared by every key tried."""

    def __init__(self, works: list[np.ndarray]):
        self.works = works
        # (period, angle) -> normalized spectrum, its power, the T x T fold when folded at T
        self._cache: dict[tuple[float, float], tuple] = {}
        self._lattices: list[Lattice] | None = None
        self._power: np.ndarray | None = None
        self._comb: comb.Prepared | None = None  # key-free too: one per image, not per key
        self._zoomed: crops.Zoomed | None = None
        self._zoomed_made = False
        self._keystone: keystone.Prepared | None = None
        self._smeared: np.ndarray | None = None  # the keystone gate's windowed power

    def spectrum(self, lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
        """The fold's normalized spectrum (T x T rfft2 layout) and its power (shared by keys)."""
        k = lat.key
        if k not in self._cache:
            self._cache[k] = _folded_spectrum(self.works, lat)
        return self._cache[k][:2]

    def tile(self, lat: Lattice) -> np.ndarray:
        """The T x T fold itself (what the payload is read from), resampled if folded smaller."""
        g, _ = self.spectrum(lat)
        folded = self._cache[lat.key][2]
        # the normalized spectrum holds every ring bin: its inverse is the
        # tile, band-limited, at T x T (the payload reader normalizes again)
        return folded if folded is not None else sfft.irfft2(g, s=(T, T)).astype(np.float32)

    def sync_powers(self, lat: Lattice, key: bytes) -> np.ndarray:
        """Mean power of the key's sync-line bins in this fold, under each dihedral transform.

        Magnitudes at the sync lines' positions only: like the comb, it never
        reads a chip's sign, and the sync bins are disjoint from the pilot's.
        """
        power = self.spectrum(lat)[1]
        return sync_supports(key) @ power.ravel()

    def _sync_probe(self, key: bytes):
        """`sync_powers` of the first frame folded at the nominal lattice of a homography's
        rectified image, uncached (the keystone slot's search tries hundreds)."""
        supports = sync_supports(key)

        def probe(warp: np.ndarray) -> np.ndarray:
            return supports @ _folded_spectrum(self.works[:1], keystone.warped(warp))[1].ravel()

        return probe

    def _slant_base(self, pat: Pattern, key: bytes, thorough: bool) -> Lattice | None:
        """The lattice the keystone slot looks around, or None where the fast test skips it.

        The nominal one where the key's sync lines still show in its fold, or
        smeared around their nominal frequencies (`keystone.SMEAR_GATE`);
        else a lattice of another period whose smeared lines stand out more
        (`keystone.scaled_base`: a picture smaller than the frame). Thorough
        mode, which runs the slot in any case, falls back to the nominal one.
        """
        if self.sync_powers(NOMINAL, key).max() >= keystone.FAST_GATE:
            return NOMINAL
        if self._smeared is None:
            # the slot reads the first frame only, and so does its gate
            first = self.power() if len(self.works) == 1 else flat_power(self.works[:1])
            self._smeared = keystone.smeared(first)
        shape = self.works[0].shape
        if keystone.smear_score(self._smeared, shape, pat) >= keystone.SMEAR_GATE:
            return NOMINAL
        base = keystone.scaled_base(self._smeared, shape, pat)
        return NOMINAL if base is None and thorough else base

    def power(self) -> np.ndarray:
        if self._power is None:
            self._power = flat_power(self.works)
        return self._power

    def lattices(self, pat: Pattern, key: bytes, thorough: bool = False) -> Iterator[Lattice]:
        """The nominal lattice, the key's sync-line estimates (square, rectangular, a small
        crop's, then a keystone's), then (thorough) the key-free ones.

        Each is computed on first need: a mark at the nominal geometry costs no
        search. The fast test leaves out weak comb lattices off the axis
        (`comb.FAST_FLOOR`), and the keystone slot where the nominal fold shows
        no trace of the sync lines (`keystone.FAST_GATE`); thorough mode tries
        every one.
        """
        yield NOMINAL
        shape = self.works[0].shape
        if self._comb is None:
            self._comb = comb.prepare(self.power(), shape, period_limit(shape))
        yield from comb.find(self._comb, pat, floor=None if thorough else comb.FAST_FLOOR)
        yield from aspect.find(self._comb, pat, floor=None if thorough else aspect.FAST_FLOOR)
        if not self._zoomed_made:
            self._zoomed = crops.prepare(self.works, period_limit(shape))
            self._zoomed_made = True
        yield from crops.find(self._zoomed, pat, floor=None if thorough else crops.FAST_FLOOR)
        base = self._slant_base(pat, key, thorough)
        if base is not None:
            if self._keystone is None:
                self._keystone = keystone.Prepared(self.works[0])
            yield from keystone.find(self._keystone, pat, self._sync_probe(key), thorough, base)
        if not thorough:
            return
        if self._lattices is None:
            self._lattices = find_lattices(self.power(), shape)
        yield from self._lattices


def _folded_spectrum(works: list[np.ndarray], lat: Lattice) -> tuple:
    """(normalized spectrum, its power, the T x T fold or None if folded smaller) of a lattice."""
    size = T if lat is NOMINAL else fold_size(max(lat.periods))
    folded = np.zeros((size, size), dtype=np.float32)
    for r in works:
        folded += fold(r, lat, size)
    raw = sfft.rfft2(folded)
    if size != T:
        raw = _embed(raw, size)
    g = normalize_spectrum(raw.astype(np.complex64, copy=False))
    power = (np.abs(g) ** 2 * BIN_WEIGHT).astype(np.float32)
    return g, power, folded if size == T else None


def _embed(raw: np.ndarray, size: int) -> np.ndarray:
    """An rfft2 of a size x size fold in the T x T layout (same cycles per tile, the rest zero).

    The Nyquist row and column are left out: they lie beyond the ring.
    """
    out = np.zeros((T, T // 2 + 1), dtype=raw.dtype)
    half = size // 2
    out[:half, :half] = raw[:half, :half]
    out[T - half + 1 :, :half] = raw[size - half + 1 :, :half]
    return out


def try_lattice(
    folds: Folds, lat: Lattice, key: bytes, transforms: tuple[int, ...] = ALL_TRANSFORMS
) -> tuple[float, int]:
    g, power = folds.spectrum(lat)
    return pilot_search(g, power, key, transforms)


def polish(folds: Folds, lat: Lattice, d: int, z: float, key: bytes) -> tuple[Lattice, int]:
    """Coordinate ascent of the pilot z in period and angle, in steps finer than the grid."""
    best = (z, d, lat)
    for dp, dt in ((0.002, 0.1), (0.001, 0.05)):
        for _ in range(3):
            cur = best
            for factor, turn in ((1 + dp, 0.0), (1 - dp, 0.0), (1.0, dt), (1.0, -dt)):
                near = cur[2].offset(factor, turn)
                z2, d2 = try_lattice(folds, near, key)
                if z2 > best[0]:
                    best = (z2, d2, near)
            if best is cur:
                break
    return best[2], best[1]
