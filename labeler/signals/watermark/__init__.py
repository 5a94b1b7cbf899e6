"""The watermark signal: try every registered key on the decoded frames.

A detection counts only at the watermark package's analytic false-positive
bound (1e-9 per image per key); with n keys the chance that any of them
fires on an unmarked upload is at most n * 1e-9. Videos get the pooled test
and a few single frames (`video.py` says why).

The platform's own key (the one renditions are marked with) is always among
the keys tried, listed in the registry or not, so that recovery
(`signals/recovered.py`) reads its detection from the same pass
(`detections`, kept in `Media.memo`) instead of detecting again.
"""

from __future__ import annotations

from dataclasses import dataclass

import watermark

from ...media import Media
from ..base import BOOL, NUMBER, TEXT, LocalSignal, SignalFact, SignalValue
from .keys import KeyRegistry, RegisteredKey, WatermarkKeyError, load_registry
from .video import detect_video


@dataclass(frozen=True)
class WatermarkSignal(SignalValue):
    detected: bool = False
    key_id: str | None = None
    owner: str | None = None
    # what the key's owner means by the mark: "ai_generated", "platform", ...
    meaning: str | None = None
    payload_hex: str | None = None
    p_value: float | None = None
    # why no mark was looked for (the upload is under the mark's minimum size)
    not_checked: str | None = None


FACTS = (
    SignalFact("detected", BOOL, "a registered key's mark was found"),
    SignalFact("key_id", TEXT, "which registered key matched"),
    SignalFact("owner", TEXT, "who owns that key"),
    SignalFact("meaning", TEXT, "what the owner means by the mark"),
    SignalFact("payload_hex", TEXT, "the mark's payload"),
    SignalFact("p_value", NUMBER, "chance an unmarked image scores so"),
    SignalFact("not_checked", TEXT, "why no mark was looked for (too small)"),
)


class Watermark(LocalSignal):
    """Every registered key against the upload's frames; no keys: not computed."""

    name = "watermark"
    value_type = WatermarkSignal
    facts = FACTS
    source_text = "an invisible watermark found in your file"

    def __init__(
        self,
        keys: KeyRegistry | None = None,
        thorough: bool = False,
        platform: RegisteredKey | None = None,
    ) -> None:
        self.keys = with_platform_key(keys, platform)
        # the keyed geometry scan (analysts' batches: ~2 s per unmarked file and key)
        self.thorough = thorough

    def gather(self, media: Media) -> WatermarkSignal | None:
        registry = self.keys
        if not registry or not media.frames:
            return None  # no keys registered: the signal is not computed
        results = detections(media, [entry.key for entry in registry.keys], self.thorough)
        return _strongest(registry, results)


def with_platform_key(keys: KeyRegistry | None, platform: RegisteredKey | None):
    """The registry with the platform's key added when it does not list that key already."""
    if platform is None:
        return keys
    listed = keys.keys if keys else ()
    if any(entry.key == platform.key for entry in listed):
        return keys
    return KeyRegistry((*listed, platform))


_MEMO = "watermark.detections"


def detections(media: Media, keys: list[bytes], thorough: bool = False):
    """Each key's `Detection` on the upload (frames under the mark's minimum: `reason` says so).

    Keys already tried on this upload are not tried again: the results are kept
    in `media.memo`, so a later signal asking for one of them pays nothing.
    """
    frames = list(media.frames)
    memo = media.memo.setdefault(_MEMO, {})
    missing = [k for k in dict.fromkeys(keys) if (k, thorough) not in memo]
    if missing:
        if media.kind == "video":
            # pooled, else single frames (union bound): re-encoding moves the mark
            found = [detect_video(frames, k, media.key_frames, thorough=thorough) for k in missing]
        else:
            # one pass over the pixels for every key (only the correlations are per key)
            found = watermark.detect_keys(frames, missing, thorough=thorough)
        memo.update({(k, thorough): d for k, d in zip(missing, found, strict=True)})
    return [memo[(k, thorough)] for k in keys]


def _strongest(registry: KeyRegistry, results) -> WatermarkSignal:
    best, best_p = None, None
    for entry, found in zip(registry.keys, results, strict=True):
        if best_p is None or found.p_value < best_p:
            best_p = found.p_value
        if found.detected and (best is None or found.p_value < best[1].p_value):
            best = (entry, found)
    if best is None:
        reasons = {found.reason for found in results}
        # every key's answer is "not searched" for the same reason, or none is
        not_checked = reasons.pop() if len(reasons) == 1 else None
        return WatermarkSignal(detected=False, p_value=best_p, not_checked=not_checked)
    entry, found = best
    return WatermarkSignal(
        detected=True,
        key_id=entry.key_id,
        owner=entry.owner,
        meaning=entry.meaning,
        payload_hex=found.payload_hex,
        p_value=found.p_value,
    )


__all__ = [
    "KeyRegistry",
    "RegisteredKey",
    "Watermark",
    "WatermarkKeyError",
    "WatermarkSignal",
    "detections",
    "load_registry",
    "with_platform_key",
]
