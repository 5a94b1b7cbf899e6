"""A video fingerprint in the spirit of Meta's vPDQ: one PDQ hash per sampled frame.

Frames too flat to identify anything (PDQ quality < 50: black frames,
fades, title cards) are dropped, and so is a frame nearly identical to the
one kept before it, so a static shot counts once. Two videos are compared
frame set against frame set, and the answer is given in both directions:

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

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pdqhash

from .bars import find_content_box
from .hashing import DIHEDRAL_NAMES
from .index import HammingIndex

MATCH_DISTANCE = 31  # Meta's recommended PDQ threshold (research note)
MIN_QUALITY = 50
# neighbours closer than this are the same moment (compression noise on a
# still shot moves PDQ by a few bits; a pan moves it by tens)
DEDUP_DISTANCE = 8
# PDQ reduces to 64 x 64 anyway; reducing first makes it ~3x cheaper and
# makes a 1080p original and its 480p re-share hash alike
HASH_SIDE = 512


class VideoFingerprintError(ValueError):
    """Frames or a stored fingerprint that cannot be used (wrong shape, corrupt, empty)."""


@dataclass(frozen=True)
class FrameHash:
    pdq: bytes  # 32 bytes, most significant bit first (the ThreatExchange hex form)
    quality: int
    time_s: float
    # the 8 dihedral variants in DIHEDRAL_NAMES order; empty for stored references
    dihedral: tuple[bytes, ...] = ()
    # the picture inside letterbox/pillarbox bars, when the frame had bars; a
    # frame matches through either hash, because a dark edge can look like a
    # bar in one copy of a frame and not in the other
    unboxed: bytes | None = None
    unboxed_dihedral: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class VideoFingerprint:
    frames: tuple[FrameHash, ...]
    frames_seen: int
    dropped_low_quality: int
    dropped_duplicates: int
    # the sampling interval the frames came at (median gap), seconds
    interval_s: float = 1.0

    def __len__(self) -> int:
        return len(self.frames)

    def to_dict(self) -> dict:
        """The stored form: hex PDQ, quality and time per kept frame (no dihedrals)."""
        return {
            "version": 1,
            "frames": [
                [f.pdq.hex(), f.quality, f.time_s, f.unboxed.hex() if f.unboxed else None]
                for f in self.frames
            ],
            "frames_seen": self.frames_seen,
            "dropped_low_quality": self.dropped_low_quality,
            "dropped_duplicates": self.dropped_duplicates,
            "interval_s": self.interval_s,
        }

    @classmethod
    def from_dict(cls, data: dict) -> VideoFingerprint:
        try:
            if data.get("version") != 1:
                raise VideoFingerprintError(f"unknown fingerprint version {data.get('version')!r}")
            frames = []
            for code, quality, time_s, *rest in data["frames"]:
                pdq = bytes.fromhex(code)
                unboxed = bytes.fromhex(rest[0]) if rest and rest[0] else None
                if len(pdq) != 32 or (unboxed is not None and len(unboxed) != 32):
                    raise VideoFingerprintError("a frame hash is not 64 hex digits")
                frames.append(FrameHash(pdq, int(quality), float(time_s), (), unboxed))
            return cls(
                tuple(frames),
                int(data["frames_seen"]),
                int(data["dropped_low_quality"]),
                int(data["dropped_duplicates"]),
                float(data.get("interval_s", 1.0)),
            )
        except VideoFingerprintError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise VideoFingerprintError(f"corrupt video fingerprint: {exc}") from exc


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


def _reduce(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = HASH_SIDE / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _check(rgb) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3:
        raise VideoFingerprintError("each frame must be an H x W x 3 uint8 RGB array")
    if rgb.shape[2] != 3 or min(rgb.shape[:2]) < 16:
        raise VideoFingerprintError(f"frame of shape {rgb.shape} cannot be hashed")
    return np.ascontiguousarray(rgb)


def _dihedral(small: np.ndarray) -> tuple[tuple[bytes, ...], int]:
    hashes, quality = pdqhash.compute_dihedral(small)
    return tuple(np.packbits(h.astype(np.uint8)).tobytes() for h in hashes), int(quality)


def _unboxed(small: np.ndarray) -> np.ndarray | None:
    """The picture inside bars, None when there are none."""
    box = find_content_box(small)
    if box is None:
        return None
    top, bottom, left, right = box
    if min(bottom - top, right - left) < 16:
        return None
    return np.ascontiguousarray(small[top:bottom, left:right])


def frame_quality(rgb: np.ndarray) -> int:
    """PDQ quality (0-100) of one frame, hashed the way fingerprints hash it."""
    return int(pdqhash.compute(_reduce(_check(rgb)))[1])


def _hamming(a: bytes, b: bytes) -> int:
    return int.bit_count(int.from_bytes(a, "big") ^ int.from_bytes(b, "big"))


def fingerprint(
    frames: Iterable[np.ndarray],
    timestamps: Sequence[float] | None = None,
    *,
    min_quality: int = MIN_QUALITY,
    dedup_distance: int = DEDUP_DISTANCE,
    strip_bars: bool = True,
) -> VideoFingerprint:
    """PDQ per sampled frame; low-quality frames and repeated neighbours dropped.

    Without timestamps the frames are taken as one per second.
    """
    if timestamps is not None:
        frames = list(frames)
        if len(timestamps) != len(frames):
            raise VideoFingerprintError(f"{len(frames)} frames but {len(timestamps)} timestamps")
    times = timestamps if timestamps is not None else itertools.count(0.0)
    return fingerprint_samples(
        zip(times, frames, strict=False),  # lengths checked above; count() is endless
        min_quality=min_quality,
        dedup_distance=dedup_distance,
        strip_bars=strip_bars,
    )


def fingerprint_samples(
    samples: Iterable[tuple[float, np.ndarray]],
    *,
    min_quality: int = MIN_QUALITY,
    dedup_distance: int = DEDUP_DISTANCE,
    strip_bars: bool = True,
) -> VideoFingerprint:
    """Like `fingerprint`, from (time, frame) pairs consumed one at a time.

    Letterbox and pillarbox bars are cut off before hashing, on both sides of
    a comparison: a 4:3 clip reposted inside a 9:16 frame otherwise shares no
    frame with its source (PDQ distance ~94 measured on the test clips).
    """
    kept: list[FrameHash] = []
    seen_times: list[float] = []
    low = dupes = 0
    for time_s, rgb in samples:
        seen_times.append(float(time_s))
        small = _reduce(_check(rgb))
        variants, quality = _dihedral(small)
        if quality < min_quality:
            low += 1
            continue
        if kept and _hamming(kept[-1].pdq, variants[0]) <= dedup_distance:
            dupes += 1
            continue
        inner = _unboxed(small) if strip_bars else None
        boxed: tuple[bytes, ...] = ()
        if inner is not None:
            boxed, inner_quality = _dihedral(inner)
            boxed = boxed if inner_quality >= min_quality else ()
        kept.append(
            FrameHash(
                variants[0],
                int(quality),
                float(time_s),
                variants,
                boxed[0] if boxed else None,
                boxed,
            )
        )
    gaps = np.diff(np.asarray(seen_times)) if len(seen_times) > 1 else np.zeros(0)
    gaps = gaps[gaps > 0]
    interval = float(np.median(gaps)) if len(gaps) else 1.0
    return VideoFingerprint(tuple(kept), len(seen_times), low, dupes, round(interval, 4))


def _words(codes: Sequence[bytes]) -> np.ndarray:
    """N 32-byte codes -> (N, 4) uint64 for vectorised Hamming distances."""
    if not codes:
        return np.zeros((0, 4), np.uint64)
    return np.frombuffer(b"".join(codes), dtype=">u8").astype(np.uint64).reshape(-1, 4)


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
        alt = _words([f.unboxed or f.pdq for f in frames]) if boxed else None
        return [("original", _words([f.pdq for f in frames]), alt)]
    out = []
    for k, name in enumerate(DIHEDRAL_NAMES):
        alt = None
        if boxed:
            alt = _words([(f.unboxed_dihedral or f.dihedral)[k] for f in frames])
        out.append((name, _words([f.dihedral[k] for f in frames]), alt))
    return out


def _reference_rows(fp: VideoFingerprint) -> tuple[np.ndarray, np.ndarray]:
    """A reference's hash rows and their times; frames with bars add a second row."""
    codes = [f.pdq for f in fp.frames] + [f.unboxed for f in fp.frames if f.unboxed]
    times = [f.time_s for f in fp.frames] + [f.time_s for f in fp.frames if f.unboxed]
    return _words(codes), np.array(times, dtype=np.float64)


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


class VideoIndex:
    """Reference videos held in memory: candidates by exact multi-index
    Hamming search over every entry's frames, then each candidate scored in full.

    Safe to drop and rebuild from the bank.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._prints: list[VideoFingerprint] = []
        self._words = np.zeros((0, 4), np.uint64)
        self._owner = np.zeros(0, np.int64)
        self._times = np.zeros(0)
        self._pending: list[tuple[int, VideoFingerprint]] = []
        self._mih: HammingIndex | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, entry_id: str, fp: VideoFingerprint) -> None:
        if not fp.frames:
            raise VideoFingerprintError(
                f"video {entry_id!r} has no frame of PDQ quality >= {MIN_QUALITY} to index"
            )
        if entry_id in self._ids:
            raise VideoFingerprintError(f"video {entry_id!r} is already in the index")
        owner = len(self._ids)
        self._ids.append(entry_id)
        self._prints.append(fp)
        self._pending.append((owner, fp))

    def _flush(self) -> None:
        # adds are batched into the arrays at the next lookup: a bank loaded
        # entry by entry would otherwise copy the whole matrix per entry
        if not self._pending:
            return
        rows = [(owner, *_reference_rows(fp)) for owner, fp in self._pending]
        self._words = np.vstack([self._words, *(words for _, words, _ in rows)])
        owners = [np.full(len(words), owner) for owner, words, _ in rows]
        self._owner = np.concatenate([self._owner, *owners])
        self._times = np.concatenate([self._times, *(times for _, _, times in rows)])
        self._pending = []
        self._mih = HammingIndex(self._words) if len(self._words) else None

    def lookup(
        self, query: VideoFingerprint, rule: MatchRule | None = None, *, limit: int = 5
    ) -> list[tuple[str, VideoMatch]]:
        """Entries sharing at least one frame with the query, matches first."""
        rule = rule or MatchRule()
        if not query.frames or not self._ids:
            return []
        self._flush()
        variants = _variants(query)
        if not rule.dihedral:
            variants = variants[:1]
        # candidate entries: any frame within the radius of any variant of any
        # query frame, found by the exact multi-index search (matching/index.py)
        stacked = np.vstack(
            [w for _, words, alt in variants for w in (words, alt) if w is not None]
        )
        codes = [row.astype(">u8").tobytes() for row in stacked]
        rows = [r for r, _ in self._mih.search(codes, rule.distance)] if self._mih else []
        hit_rows = np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)
        candidates = np.unique(self._owner[hit_rows]).tolist()
        results = []
        for owner in candidates:
            rows = self._owner == owner
            interval = self._prints[owner].interval_s
            match = _score(query, self._words[rows], self._times[rows], interval, rule, variants)
            results.append((self._ids[owner], match))
        results.sort(key=lambda r: (not r[1].matched, -max(r[1].query_contained,
                                    r[1].reference_contained), r[1].best_distance))  # fmt: skip
        return results[:limit]
