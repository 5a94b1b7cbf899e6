"""Spectral peaks near where a geometry puts the sync lines, refined between bins."""

from __future__ import annotations

import numpy as np


def near_peaks(p: np.ndarray, fy: np.ndarray, fx: np.ndarray, reach: float) -> np.ndarray:
    """(y, x, power) of the strongest bin within `reach` bins of each (fy, fx) (centred
    layout), sub-bin refined by a parabola on each axis; (fy, fx, 0) where the window
    leaves the spectrum."""
    h, w = p.shape
    r = max(2, int(np.ceil(reach)))
    side = 2 * r + 1
    y0 = np.rint(h // 2 + fy).astype(np.int64) - r
    x0 = np.rint(w // 2 + fx).astype(np.int64) - r
    inside = (y0 >= 1) & (x0 >= 1) & (y0 + side + 1 <= h) & (x0 + side + 1 <= w)
    out = np.stack([fy, fx, np.zeros_like(fy)], axis=1).astype(np.float64)
    if not inside.any():
        return out
    y0, x0 = y0[inside], x0[inside]
    steps = np.arange(side)
    wins = p[(y0[:, None] + steps)[:, :, None], (x0[:, None] + steps)[:, None, :]]
    best = wins.reshape(len(y0), -1).argmax(axis=1)
    y, x = y0 + best // side, x0 + best % side
    top = p[y, x]
    dy = parabola(p[y - 1, x], top, p[y + 1, x])
    dx = parabola(p[y, x - 1], top, p[y, x + 1])
    out[inside] = np.stack([y + dy - h // 2, x + dx - w // 2, top], axis=1)
    return out


def parabola(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The vertex's offset from b of the parabola through a, b, c (0 where it is no peak)."""
    den = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.clip(0.5 * (a - c) / den, -0.5, 0.5)
    return np.where(den < 0, off, 0.0)
