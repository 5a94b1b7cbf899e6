"""The match signal for videos: the upload's sampled frames against the bank's
video entries (vPDQ fingerprints, and local features on the entries'
keyframes for cropped or captioned copies; matching/video.py).

The bank's video index comes from the `BankSource` (labeler/stores.py), as
the image index does; this module only fingerprints and compares.
"""

from __future__ import annotations

from matching.video import (
    Keyframes,
    KeyframeSampler,
    MatchRule,
    VideoFingerprint,
    VideoIndex,
    fingerprint,
    fingerprint_samples,
    frame_quality,
    query_frames,
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


def reference_prints(
    data: bytes, max_pixels: int = 50_000_000
) -> tuple[VideoFingerprint, Keyframes]:
    """A bank entry's dense fingerprint and its keyframes, from one decode.

    Each frame is hashed as it is decoded; one a second also gives its ORB
    features.
    """
    samples = iter_samples(data, REFERENCE_LIMITS, max_pixels)
    keyframes = KeyframeSampler()
    fp = fingerprint_samples(keyframes.tap((s.time_s, s.rgb) for s in samples))
    return fp, keyframes.result()


def prepare(media: Media, features: bool = False) -> tuple[VideoFingerprint, tuple]:
    """The sampled frames' fingerprint, and with `features` the local features of
    a few of them (for a bank with keyframes); no bank access."""
    times = media.times if len(media.times) == len(media.frames) else None
    fp = fingerprint(media.frames, times)
    if not features:
        return fp, ()
    usable = [f.time_s for f in fp.frames]
    return fp, query_frames(media.frames, times or range(len(media.frames)), usable)


def resolve(
    query: tuple[VideoFingerprint, tuple],
    index: VideoIndex,
    meta: VideoMeta,
    rule: MatchRule | None = None,
) -> MatchSignal:
    """A prepared query (`prepare`) against the bank's video entries."""
    fp, frames = query
    if len(index) == 0:
        return MatchSignal()
    if not fp.frames and not frames:
        return MatchSignal(low_quality=True)
    results = index.lookup(fp, rule, limit=1, frames=frames)
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
        hash_type=_hash_type(match),
        stage="video",
        near_match=near,
        query_contained=match.query_contained,
        reference_contained=match.reference_contained,
    )


def _hash_type(match) -> str:
    if match.stage == "local_features":
        return "orb"
    return "vpdq" if match.transform == "original" else f"vpdq_{match.transform}"


def clearest_frame(frames) -> int:
    """Index of the sampled frame with the highest PDQ quality (a video's still).

    A video's first frame is often a fade or a title card, too flat to hash.
    """
    qualities = [frame_quality(rgb) for rgb in frames]
    return qualities.index(max(qualities))
