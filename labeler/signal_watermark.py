"""The watermark signal: try every registered key on the decoded frames.

A detection counts only at the watermark package's analytic false-positive
bound (1e-9 per image per key); with n keys the chance that any of them
fires on an unmarked upload is at most n * 1e-9.
"""

from __future__ import annotations

import os

import watermark

from .media import Media
from .signals import WatermarkSignal
from .video_watermark import detect_video
from .watermark_keys import KeyRegistry, WatermarkKeyError, registry_from_env

__all__ = ["gather", "registry_from_env", "thorough_from_env"]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def thorough_from_env() -> bool:
    """AIGC_WATERMARK_THOROUGH=1: the keyed geometry scan (watermark/README.md), for analysts."""
    value = os.environ.get("AIGC_WATERMARK_THOROUGH", "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise WatermarkKeyError(f"AIGC_WATERMARK_THOROUGH must be 1 or 0, got {value!r}")
    return value in _TRUE


def gather(media: Media, engine) -> WatermarkSignal | None:
    registry: KeyRegistry | None = getattr(engine, "watermark_keys", None)
    if not registry or not media.frames:
        return None  # no keys registered: the signal is not computed
    frames = [f for f in media.frames if min(f.shape[:2]) >= watermark.MIN_SIDE]
    if not frames:
        # below the documented minimum no mark is embedded or looked for
        return WatermarkSignal(detected=False)
    best, best_p = None, None
    thorough = bool(getattr(engine, "watermark_thorough", False))
    if media.kind == "video":  # issue 8: pooled, else single frames (union bound)
        results = [
            detect_video(frames, entry.key, media.key_frames, thorough=thorough)
            for entry in registry.keys
        ]
    else:
        # one pass over the pixels for every key (only the correlations are per key)
        keys = [entry.key for entry in registry.keys]
        results = watermark.detect_keys(frames, keys, thorough=thorough)
    for entry, found in zip(registry.keys, results, strict=True):
        if best_p is None or found.p_value < best_p:
            best_p = found.p_value
        if found.detected and (best is None or found.p_value < best[1].p_value):
            best = (entry, found)
    if best is None:
        return WatermarkSignal(detected=False, p_value=best_p)
    entry, found = best
    return WatermarkSignal(
        detected=True,
        key_id=entry.key_id,
        owner=entry.owner,
        meaning=entry.meaning,
        payload_hex=found.payload_hex,
        p_value=found.p_value,
    )
