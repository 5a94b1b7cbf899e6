"""Perceptual (texture) mask: where the eye tolerates a change, and how much.

Contrast masking: a change is much harder to see on texture than on a flat
area, roughly in proportion to the local contrast. The mask is the local
standard deviation of the band-passed luminance, compressed (square root) so
that strong edges do not take all the budget, with a small floor so the flat
sky stays essentially clean.
"""

from __future__ import annotations

import cv2
import numpy as np

FLOOR = 0.08
CEIL = 2.5


def texture_mask(y: np.ndarray) -> np.ndarray:
    detail = y - cv2.GaussianBlur(y, (0, 0), 1.5)
    local = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), 3.0))
    m = np.sqrt(local / (np.median(local) + 1e-3))
    # dark and very bright areas hide less at low contrast (Weber); a mild factor
    return np.clip(m, FLOOR, CEIL).astype(np.float32)
