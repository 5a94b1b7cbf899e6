"""Perceptual (texture) mask: where the eye tolerates a change, and how much.

Contrast masking: a change is much harder to see on texture than on a flat
area. The envelope is the local standard deviation of the band-passed
luminance relative to the image's median (square-rooted, so strong edges do
not take all the budget), scaled to the strength budget, and then capped in
absolute terms by the local contrast: a change of RMS n in an area of local
standard deviation s lowers the structural similarity there to about
(2 s^2 + C2) / (2 s^2 + C2 + n^2) (C2 = (0.03 * 255)^2, the SSIM constant), so
the cap keeps that above SSIM_FLOOR everywhere; flat skies stay clean.
"""

from __future__ import annotations

import cv2
import numpy as np

FLOOR = 0.05
CEIL = 2.5
SSIM_FLOOR = 0.985
_C2 = (0.03 * 255) ** 2


def texture_mask(y: np.ndarray) -> np.ndarray:
    """Relative texture strength (median area ~1)."""
    detail = y - cv2.GaussianBlur(y, (0, 0), 1.5)
    local = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), 3.0))
    m = np.sqrt(local / (np.median(local) + 1e-3))
    return np.clip(m, FLOOR, CEIL).astype(np.float32)


def amplitude_cap(y: np.ndarray) -> np.ndarray:
    """Largest local RMS change (gray levels) that keeps local SSIM >= SSIM_FLOOR."""
    mu = cv2.GaussianBlur(y, (0, 0), 1.5)
    var = np.maximum(cv2.GaussianBlur(y * y, (0, 0), 1.5) - mu * mu, 0.0)
    return np.sqrt((1.0 / SSIM_FLOOR - 1.0) * (2.0 * var + _C2)).astype(np.float32)


def envelope(y: np.ndarray, target_rms: float, max_gain: float) -> np.ndarray:
    """Per-pixel amplitude: min(gain * mask, cap), the gain set so the RMS meets the budget."""
    m = texture_mask(y)
    cap = amplitude_cap(y)
    lo, hi = 0.0, max_gain
    for _ in range(12):  # bisection on the gain; the RMS grows with it
        g = 0.5 * (lo + hi)
        rms = float(np.sqrt(np.mean(np.minimum(g * m, cap) ** 2)))
        lo, hi = (g, hi) if rms < target_rms else (lo, g)
    return np.minimum(lo * m, cap)
