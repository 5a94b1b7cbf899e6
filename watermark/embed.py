"""Embedding: draw the keyed tile at the reference resolution, mask it, scale it up.

The residual is built at REF_LONG_SIDE pixels along the long side (so any
resize of the whole image leaves exactly 4 tiles along the long side) and
added to R, G and B alike: that changes luminance only, so conversion to
grayscale and chroma subsampling leave it intact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import ecc
from .errors import BadPayload
from .image import check_rgb, luminance, ref_size, resize
from .mask import texture_mask
from .pattern import T, check_key, pattern_for, tile

# RMS change of the luminance in gray levels: 1.9 gives PSNR ~42.5 dB before rounding
TARGET_RMS = 1.9
# no pixel moves by more than this (gray levels)
MAX_AMPLITUDE = 10.0


def check_payload(payload) -> bytes:
    if not isinstance(payload, bytes | bytearray):
        raise BadPayload(f"the payload must be bytes, not {type(payload).__name__}")
    if len(payload) != ecc.PAYLOAD_BYTES:
        raise BadPayload(
            f"the payload must be exactly {ecc.PAYLOAD_BYTES} bytes, got {len(payload)}"
        )
    return bytes(payload)


def residual(rgb: np.ndarray, payload: bytes, key: bytes) -> np.ndarray:
    """The float32 luminance change (H x W) that embed adds to every channel."""
    rgb = check_rgb(rgb)
    payload, key = check_payload(payload), check_key(key)
    h, w = rgb.shape[:2]
    rh, rw = ref_size(h, w)
    w_tile = tile(pattern_for(key), ecc.encode(payload))
    reps = (-(-rh // T), -(-rw // T))
    carrier = np.tile(w_tile, reps)[:rh, :rw]
    y_ref = resize(luminance(rgb), rh, rw)
    delta = resize(carrier * texture_mask(y_ref), h, w)
    gain = TARGET_RMS / max(float(np.sqrt(np.mean(delta * delta))), 1e-6)
    return np.clip(delta * gain, -MAX_AMPLITUDE, MAX_AMPLITUDE)


def embed(rgb: np.ndarray, payload: bytes, key: bytes) -> np.ndarray:
    """Return a marked copy of an H x W x 3 uint8 RGB image carrying 8 payload bytes."""
    delta = residual(rgb, payload, key)
    out = rgb.astype(np.float32) + delta[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def embed_frames(frames: Sequence[np.ndarray], payload: bytes, key: bytes) -> list[np.ndarray]:
    """Mark every frame of a clip with the same payload (the detector pools them)."""
    return [embed(frame, payload, key) for frame in frames]
