"""Whitening: the key-free filters that make the host correlate little with the mark.

`whiten` is applied to every working image before folding; `flat_power` is
the spectrum the lattice estimates (`sync.py`, `comb.py`) search.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.fft as sfft


def whiten(y: np.ndarray) -> np.ndarray:
    """Band-pass and locally normalize so host content correlates little with the mark."""
    # a high-pass (the mark's ring sits at periods of 4-16 px) normalized by
    # the local energy over a few px: on texture (grass, gravel) that
    # suppresses the host ~10% better than a band-pass over a wider window
    # (pilot z at the true geometry: grass 9.0 -> 9.9, motorcycle 14.9 ->
    # 17.5, averaged over 4 keys). Kernels cut at 3 sigma (OpenCV's default
    # for float images is 4 sigma): the weights left out sum to 0.3% and
    # the blur costs a third less.
    band = y - cv2.GaussianBlur(y, (13, 13), 2.0)
    energy = cv2.GaussianBlur(band * band, (13, 13), 2.0) + 1.0
    # the mark's amplitude grows like sqrt(local contrast) and the host's
    # variance like its square: weight = amplitude / variance
    r = band / (np.sqrt(energy) * np.sqrt(np.sqrt(energy)))  # energy^-0.75, 3x faster
    r *= 1.0 / (float(np.sqrt(np.mean(r * r))) + 1e-9)
    return np.clip(r, -4.0, 4.0)


def flatten(spec: np.ndarray) -> np.ndarray:
    """A power spectrum divided by its locally smoothed self: lines kept, the host's slope gone."""
    return spec / (cv2.GaussianBlur(spec, (25, 25), 4.0) + 1e-6)


def flat_power(rs: list[np.ndarray]) -> np.ndarray:
    """Spectrally flattened power spectrum (rfft2 layout) of the whitened frames.

    Dividing by the locally smoothed spectrum keeps the mark's spectral lines
    and flattens the smooth host spectrum. Several frames of one clip (same
    size) add theirs: the mark's lines are the same in each, the content's are not.
    """
    total = None
    for r in rs:
        if r.shape != rs[0].shape:
            continue
        flat = flatten((np.abs(sfft.rfft2(r)) ** 2).astype(np.float32))
        total = flat if total is None else total + flat
    return total
