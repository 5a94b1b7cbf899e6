"""How much of one video another contains: two frame sets compared, in both directions.

- `query_contained`: the share of the upload's frames found in the
  reference, high when the upload is a clip cut out of a known fake;
- `reference_contained`: the share of the reference's frames found in the
  upload, high when the upload contains the whole known fake (a
  compilation, a reaction video).

A mirrored or rotated re-upload flips every frame the same way, so the
8 dihedral variants (free from PDQ's DCT) are tried per video, not per frame:
per-frame freedom would make unrelated videos meet eight times as often.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codes import pack_words
from .hashing import DIHEDRAL_NAMES
from .vpdq import VideoFingerprint

MATCH_DISTANCE = 31  # Meta's recommended PDQ threshold (research note)


@dataclass(frozen=True)
class VideoMatch:
    matched: bool
    query_frames: int
    reference_frames: int
    # query frames with a reference frame within the distance, and the reverse
    query_matched: int
    reference_matched: int
    query_contained: float
    reference_contained: float
    # the closest frame pair, and which dihedral variant of the query matched
    best_distance: int | None
    transform: str | None
    # where the query starts inside the reference (median time difference of
    # matched frame pairs), seconds; None without matched frames
    offset_s: float | None
    # "vpdq" (whole-frame hashes) or "local_features" (ORB on keyframes,
    # video_local.py), and then the most entry keypoints one frame confirmed
    stage: str = "vpdq"
    inliers: int | None = None


def _distances(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(Q, 4) x (R, 4) uint64 -> (Q, R) Hamming distances.

    Word by word into one (Q, R) array: an (Q, R, 4) intermediate made a
    bank-wide lookup eight times slower (memory traffic, not arithmetic).
    """
    columns = np.ascontiguousarray(reference.T)
    dist = np.bitwise_count(query[:, 0, None] ^ columns[0]).astype(np.uint16)
    for w in range(1, 4):
        dist += np.bitwise_count(query[:, w, None] ^ columns[w])
    return dist


def _variants(query: VideoFingerprint) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(name, hashes, hashes inside bars or None) of the query's frames per variant."""
    frames = query.frames
    if not frames:
        return []
    boxed = any(f.unboxed for f in frames)
    if not all(f.dihedral for f in frames):
        alt = pack_words([f.unboxed or f.pdq for f in frames]) if boxed else None
        return [("original", pack_words([f.pdq for f in frames]), alt)]
    out = []
    for k, name in enumerate(DIHEDRAL_NAMES):
        alt = None
        if boxed:
            alt = pack_words([(f.unboxed_dihedral or f.dihedral)[k] for f in frames])
        out.append((name, pack_words([f.dihedral[k] for f in frames]), alt))
    return out


def _reference_rows(fp: VideoFingerprint) -> tuple[np.ndarray, np.ndarray]:
    """A reference's hash rows and their times; frames with bars add a second row."""
    codes = [f.pdq for f in fp.frames] + [f.unboxed for f in fp.frames if f.unboxed]
    times = [f.time_s for f in fp.frames] + [f.time_s for f in fp.frames if f.unboxed]
    return pack_words(codes), np.array(times, dtype=np.float64)


def _query_distances(words: np.ndarray, alt: np.ndarray | None, ref: np.ndarray) -> np.ndarray:
    dist = _distances(words, ref)
    if alt is not None:
        np.minimum(dist, _distances(alt, ref), out=dist)
    return dist


@dataclass(frozen=True)
class MatchRule:
    """When two frame sets count as the same video."""

    distance: int = MATCH_DISTANCE
    # either direction of containment at or above this share is a match
    min_share: float = 0.6
    # and at least this many matched frames (fewer when a video has fewer)
    min_frames: int = 2
    dihedral: bool = True
    # local features (video_local.py): the most-voted videos verified, and the
    # frames tried on each before it is dropped when none of them verifies
    local_videos: int = 2
    local_probe: int = 3


def compare(
    query: VideoFingerprint, reference: VideoFingerprint, rule: MatchRule | None = None
) -> VideoMatch:
    """Both directions of containment between an upload and one reference video."""
    rule = rule or MatchRule()
    ref_words, ref_times = _reference_rows(reference)
    return _score(query, ref_words, ref_times, reference.interval_s, rule)


def _bin_share(times: np.ndarray, hit: np.ndarray, bin_s: float) -> float:
    bins = np.floor(times / bin_s + 1e-6).astype(np.int64)
    return len(np.unique(bins[hit])) / len(np.unique(bins))


def _coverage(ref_times: np.ndarray, ref_interval: float, centers, width: float) -> float:
    """Share of the reference's time span within width/2 of any of the centers."""
    start, end = float(ref_times.min()), float(ref_times.max()) + ref_interval
    covered, reach = 0.0, start
    for c in np.sort(centers):
        lo, hi = max(reach, c - width / 2, start), min(end, c + width / 2)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return min(1.0, covered / max(end - start, 1e-6))


def _score(query, ref_words, ref_times, reference_interval, rule, variants=None) -> VideoMatch:
    q, r = len(query.frames), len(np.unique(ref_times))
    if q == 0 or r == 0:
        return VideoMatch(False, q, r, 0, 0, 0.0, 0.0, None, None, None)
    variants = variants if variants is not None else _variants(query)
    if not rule.dihedral:
        variants = variants[:1]
    best = None
    for name, words, alt in variants:
        dist = _query_distances(words, alt, ref_words)
        hits = dist <= rule.distance
        key = (int(hits.any(axis=1).sum()), -int(dist.min()))
        if best is None or key > best[0]:
            best = (key, name, dist, hits)
    _, name, dist, hits = best
    q_hit, r_hit = hits.any(axis=1), hits.any(axis=0)
    q_times = np.array([f.time_s for f in query.frames])
    # Containment is counted in time, not in frames: a reference is hashed
    # densely (5 fps) so that any moment a clip cut out of it samples has a
    # reference frame close by, and an upload sampled at 1 fps must not count
    # as "a fifth" of itself. The query side: the share of its sampling bins
    # with a match. The reference side: the share of its duration covered by
    # matched query samples, each standing for one query interval around the
    # reference frame it matched.
    bin_s = max(query.interval_s, reference_interval, 1e-3)
    q_share = _bin_share(q_times, q_hit, bin_s)
    q_matched, r_matched = int(q_hit.sum()), len(np.unique(ref_times[r_hit]))
    r_share, offset = 0.0, None
    if q_matched:
        rows = np.flatnonzero(q_hit)
        nearest = dist[rows].argmin(axis=1)
        offset = round(float(np.median(ref_times[nearest] - q_times[rows])), 3)
        r_share = _coverage(ref_times, reference_interval, ref_times[nearest], query.interval_s)
    needed = min(rule.min_frames, q, r)
    matched = q_matched >= needed and max(q_share, r_share) >= rule.min_share
    return VideoMatch(
        matched=matched,
        query_frames=q,
        reference_frames=r,
        query_matched=q_matched,
        reference_matched=r_matched,
        query_contained=round(q_share, 4),
        reference_contained=round(r_share, 4),
        best_distance=int(dist.min()),
        transform=name if q_matched else None,
        offset_s=offset,
    )
