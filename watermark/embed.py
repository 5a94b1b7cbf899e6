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
from .mask import envelope
from .pattern import T, check_key, pattern_for, tile

# RMS of the envelope at the reference resolution; scaling up smooths the carrier a
# little, so this lands at PSNR ~42.5 dB on natural images
TARGET_RMS = 2.15
# The budget is PSNR: every image is then brought to TARGET_PSNR exactly (the
# change is measured at full resolution after rounding, so the marked
# image's PSNR is >= TARGET_PSNR by construction), within MAX_BOOST of
# TARGET_RMS either way; on texture that is ~0.3 dB (z +3.5%) more signal.
TARGET_PSNR = 42.15
_TARGET_MSE = 255.0**2 / 10 ** (TARGET_PSNR / 10)
MAX_BOOST = 1.1
# no pixel moves by more than this (gray levels)
MAX_AMPLITUDE = 10.0
# the gain that brings a mostly flat image to TARGET_RMS would make its few
# textured parts carry a visible pattern: cap it (such images end up above 42 dB)
MAX_GAIN = 4.0


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

    def change(rms: float) -> tuple[np.ndarray, float]:
        # the carrier has unit RMS, so the envelope's RMS is the change's RMS
        d = resize(carrier * envelope(y_ref, rms, MAX_GAIN), h, w)
        d = np.clip(d, -MAX_AMPLITUDE, MAX_AMPLITUDE)
        return d, float(np.mean(np.rint(d) ** 2))  # what the uint8 image will carry

    delta, mse = change(TARGET_RMS)
    boost = float(np.clip(np.sqrt(_TARGET_MSE / max(mse, 1e-9)), 1.0 / MAX_BOOST, MAX_BOOST))
    if abs(boost - 1.0) > 0.005:
        delta, mse = change(TARGET_RMS * boost)
    while mse > _TARGET_MSE:  # the envelope's cap makes the RMS not quite linear
        delta *= 0.995
        mse = float(np.mean(np.rint(delta) ** 2))
    return delta


def embed(rgb: np.ndarray, payload: bytes, key: bytes) -> np.ndarray:
    """Return a marked copy of an H x W x 3 uint8 RGB image carrying 8 payload bytes."""
    delta = residual(rgb, payload, key)
    out = rgb.astype(np.float32) + delta[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def embed_frames(frames: Sequence[np.ndarray], payload: bytes, key: bytes) -> list[np.ndarray]:
    """Mark every frame of a clip with the same payload (the detector pools them)."""
    return [embed(frame, payload, key) for frame in frames]
