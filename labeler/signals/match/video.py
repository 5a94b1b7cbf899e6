"""The match signal for videos: the upload's sampled frames against the bank's
video entries (vPDQ fingerprints, matching/video.py).

The bank's video index comes from the `BankSource` (labeler/stores.py), as
the image index does; this module only fingerprints and compares.
"""

from __future__ import annotations

from matching.video import (
    MatchRule,
    VideoFingerprint,
    VideoIndex,
    fingerprint,
    fingerprint_samples,
    frame_quality,
)

from ...media import Media
from ...stores import VideoMeta
from ...video import VideoLimits, iter_samples
from . import MatchSignal

# References are hashed five times a second: PDQ moves 30+ bits under a few
# frames of camera motion, so a clip cut out of the video at any offset must
# find a reference frame within ~0.1 s of each of its own samples.
# Adding to the bank is rare and done by staff, so it may decode for longer.
REFERENCE_LIMITS = VideoLimits(
    sample_fps=5, max_samples=3000, max_side=512, every_frame=True, max_decode_s=600
)


def reference_fingerprint(data: bytes, max_pixels: int = 50_000_000) -> VideoFingerprint:
    """A bank entry's dense fingerprint; each frame is hashed as it is decoded."""
    samples = iter_samples(data, REFERENCE_LIMITS, max_pixels)
    return fingerprint_samples((s.time_s, s.rgb) for s in samples)


def prepare(media: Media) -> VideoFingerprint:
    """The sampled frames' fingerprint (no bank access)."""
    times = media.times if len(media.times) == len(media.frames) else None
    return fingerprint(media.frames, times)


def resolve(
    query: VideoFingerprint, index: VideoIndex, meta: VideoMeta, rule: MatchRule | None = None
) -> MatchSignal:
    """A prepared fingerprint against the bank's video entries."""
    if len(index) == 0:
        return MatchSignal()
    if not query.frames:
        return MatchSignal(low_quality=True)
    results = index.lookup(query, rule, limit=1)
    if not results:
        return MatchSignal()
    entry_id, match = results[0]
    rule = rule or MatchRule()
    near = not match.matched and match.query_matched >= rule.min_frames
    if not (match.matched or near):
        return MatchSignal()
    category, severity = meta.get(entry_id, (None, None))
    return MatchSignal(
        matched=match.matched,
        entry_id=entry_id,
        category=category,
        severity=severity,
        distance=match.best_distance,
        hash_type="vpdq" if match.transform == "original" else f"vpdq_{match.transform}",
        stage="video",
        near_match=near,
        query_contained=match.query_contained,
        reference_contained=match.reference_contained,
    )


def clearest_frame(frames) -> int:
    """Index of the sampled frame with the highest PDQ quality (a video's still).

    A video's first frame is often a fade or a title card, too flat to hash.
    """
    qualities = [frame_quality(rgb) for rgb in frames]
    return qualities.index(max(qualities))
