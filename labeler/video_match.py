"""The match signal for videos: the upload's sampled frames against the bank's
video entries (vPDQ fingerprints, matching/video.py).

Bank video fingerprints live in `bank_video_fingerprints` (written by
service/bank.py, table in service/db/bank_video.py); like signal_match, the
labeler reads them through SQLAlchemy Core by name (the columns below are
the read contract) and keeps one in-memory `VideoIndex` per database,
rebuilt when the bank version moves.
"""

from __future__ import annotations

import json
import threading

from sqlalchemy import Column, Integer, MetaData, Table, Text, inspect, select

from matching.video import (
    MatchRule,
    VideoFingerprint,
    VideoIndex,
    fingerprint,
    fingerprint_samples,
    frame_quality,
)

from .media import Media
from .signal_match import ENTRIES
from .signals import MatchSignal
from .video import VideoLimits, iter_samples

# References are hashed five times a second: PDQ moves 30+ bits under a few
# frames of camera motion, so a clip cut out of the video at any offset must
# find a reference frame within ~0.1 s of each of its own samples.
# Adding to the bank is rare and done by staff, so it may decode for longer.
REFERENCE_LIMITS = VideoLimits(
    sample_fps=5, max_samples=3000, max_side=512, every_frame=True, max_decode_s=600
)

_meta = MetaData()
VIDEOS = Table(
    "bank_video_fingerprints",
    _meta,
    Column("entry_id", Integer, primary_key=True),
    Column("fingerprint", Text),
)


def reference_fingerprint(data: bytes, max_pixels: int = 50_000_000) -> VideoFingerprint:
    """A bank entry's dense fingerprint; each frame is hashed as it is decoded."""
    samples = iter_samples(data, REFERENCE_LIMITS, max_pixels)
    return fingerprint_samples((s.time_s, s.rgb) for s in samples)


def load_video_index(url: str) -> tuple[VideoIndex, dict[str, tuple[str, str | None]]]:
    """Every active video entry: the index and each entry's (category, severity)."""
    from .signal_match import _engine, _exists  # one engine per URL for both tables

    index, meta = VideoIndex(), {}
    if not _exists(url):
        return index, meta
    engine = _engine(url)
    if not inspect(engine).has_table(VIDEOS.name):
        return index, meta
    query = (
        select(VIDEOS.c.entry_id, VIDEOS.c.fingerprint, ENTRIES.c.category, ENTRIES.c.severity)
        .join(ENTRIES, ENTRIES.c.id == VIDEOS.c.entry_id)
        .where(ENTRIES.c.active.is_(True))
        .order_by(VIDEOS.c.entry_id)
    )
    with engine.connect() as conn:
        for entry_id, text, category, severity in conn.execute(query):
            try:
                index.add(str(entry_id), VideoFingerprint.from_dict(json.loads(text)))
            except (ValueError, TypeError):
                continue  # a corrupt row must not take the whole bank down
            meta[str(entry_id)] = (category, severity)
    return index, meta


_cache: dict[str, tuple[int, VideoIndex, dict]] = {}
_lock = threading.Lock()


def _index_for(source) -> tuple[VideoIndex, dict] | None:
    url = getattr(source, "url", None)
    if url is None:
        return None  # a bare in-memory image bank (tests): no video entries
    source.current()  # refreshes `source.version` when the bank moved
    version = source.version
    with _lock:
        cached = _cache.get(url)
        if cached is None or cached[0] != version:
            index, meta = load_video_index(url)
            _cache[url] = cached = (version, index, meta)
    return cached[1], cached[2]


def drop_cache() -> None:
    with _lock:
        _cache.clear()


def entries(source) -> int | None:
    """Active video entries in the bank behind `source`; None for an in-memory image bank."""
    found = _index_for(source)
    return None if found is None else len(found[0])


def prepare(media: Media) -> VideoFingerprint:
    """The sampled frames' fingerprint (no bank access)."""
    times = media.times if len(media.times) == len(media.frames) else None
    return fingerprint(media.frames, times)


def resolve(query: VideoFingerprint, source, rule: MatchRule | None = None) -> MatchSignal | None:
    """A prepared fingerprint against the bank's video entries."""
    found = _index_for(source)
    if found is None:
        return None
    index, meta = found
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
