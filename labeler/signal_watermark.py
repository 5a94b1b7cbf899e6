"""The watermark signal: try every registered key on the decoded frames.

A detection counts only at the watermark package's analytic false-positive
bound (1e-9 per image per key); with n keys the chance that any of them
fires on an unmarked upload is at most n * 1e-9.
"""

from __future__ import annotations

import watermark

from .media import Media
from .signals import WatermarkSignal
from .video_watermark import detect_video
from .watermark_keys import KeyRegistry, registry_from_env

__all__ = ["gather", "registry_from_env"]


def gather(media: Media, engine) -> WatermarkSignal | None:
    registry: KeyRegistry | None = getattr(engine, "watermark_keys", None)
    if not registry or not media.frames:
        return None  # no keys registered: the signal is not computed
    frames = [f for f in media.frames if min(f.shape[:2]) >= watermark.MIN_SIDE]
    if not frames:
        # below the documented minimum no mark is embedded or looked for
        return WatermarkSignal(detected=False)
    best, best_p = None, None
    if media.kind == "video":  # issue 8: pooled, else single frames (union bound)
        results = [detect_video(frames, entry.key, media.key_frames) for entry in registry.keys]
    else:
        # one pass over the pixels for every key (only the correlations are per key)
        results = watermark.detect_keys(frames, [entry.key for entry in registry.keys])
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
