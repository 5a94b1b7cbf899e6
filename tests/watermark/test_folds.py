"""Folds at a tile smaller than T: the same ring spectrum, so the same scores."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest

import watermark
from watermark.lattice import FOLD_SIZES, Lattice, fold_size
from watermark.pattern import R_HI, T

folds_mod = importlib.import_module("watermark.folds")
correlate = importlib.import_module("watermark.correlate")


def test_fold_sizes_hold_the_ring_and_never_shrink_a_lattice():
    assert min(FOLD_SIZES) // 2 > R_HI  # every ring bin below the small tile's Nyquist
    assert fold_size(40.0) == min(FOLD_SIZES)
    assert fold_size(97.0) == 100 and fold_size(100.0) == 100
    assert fold_size(127.5) == T and fold_size(200.0) == T


def _shrunk(marked: np.ndarray, s: float, deg: float) -> np.ndarray:
    """The marked picture scaled by s and turned by deg inside its own canvas."""
    h, w = marked.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, s)
    return cv2.warpAffine(marked, m, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("s, deg", [(0.8, 0.0), (0.75, 6.0)])
def test_a_small_fold_scores_like_a_full_one(natural, key, payload, s, deg):
    marked = watermark.embed(natural("coffee", 1024), payload, key)
    folds = folds_mod.Folds([folds_mod.working_image(_shrunk(marked, s, deg))])
    lat = Lattice(T * s, -deg, 0.0)
    assert fold_size(lat.period) < T
    small, _ = folds.spectrum(lat)
    full = correlate.normalize_spectrum(
        np.fft.rfft2(sum(folds_mod.fold(r, lat) for r in folds.works))
    )
    ring = (correlate._RING_HALF >= 14) & (correlate._RING_HALF <= R_HI)
    a, b = small[ring], full[ring]
    # one spectrum up to the sub-pixel shift a different tile origin makes:
    # compare magnitudes, then the scores
    assert np.corrcoef(np.abs(a), np.abs(b))[0, 1] > 0.9
    z_small, _ = folds_mod.try_lattice(folds, lat, key)
    z_full, _ = correlate.pilot_search(
        full.astype(np.complex64),
        (np.abs(full) ** 2 * correlate.BIN_WEIGHT).astype(np.float32),
        key,
    )
    assert z_small > 8 and z_small == pytest.approx(z_full, rel=0.15)
    # and the tile the payload is read from carries it
    found = watermark.detect(_shrunk(marked, s, deg), key)
    assert found.detected and found.payload == payload
