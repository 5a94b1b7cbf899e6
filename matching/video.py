"""A video fingerprint in the spirit of Meta's vPDQ: one PDQ hash per sampled frame.

Frames too flat to identify anything (PDQ quality < 50: black frames,
fades, title cards) are dropped, and so is a frame nearly identical to the
one kept before it, so a static shot counts once (`vpdq.py`). Two videos are
compared frame set against frame set, and the answer is given in both
directions (`containment.py`):

- `query_contained`: the share of the upload's frames found in the
  reference, high when the upload is a clip cut out of a known fake;
- `reference_contained`: the share of the reference's frames found in the
  upload, high when the upload contains the whole known fake (a
  compilation, a reaction video).

A re-upload cropped, captioned or zoomed changes every frame's hash; entries
that keep keyframes (keyframes.py) are then searched by local features
(video_local.py) when no entry matched by vPDQ.

This module holds the index of reference videos and is where the rest of
the code imports every video name from.
"""

from __future__ import annotations

import numpy as np

from .containment import (
    MATCH_DISTANCE,
    MatchRule,
    VideoMatch,
    _reference_rows,
    _score,
    _variants,
    compare,
)
from .index import HammingIndex
from .keyframes import KEYFRAME_INTERVAL_S, Keyframes, KeyframeSampler
from .video_local import QUERY_FRAMES, KeyframeIndex, QueryFrame, query_frames
from .vpdq import (
    DEDUP_DISTANCE,
    HASH_SIDE,
    MIN_QUALITY,
    FrameHash,
    VideoFingerprint,
    VideoFingerprintError,
    fingerprint,
    fingerprint_samples,
    frame_quality,
)

__all__ = [
    "DEDUP_DISTANCE",
    "HASH_SIDE",
    "KEYFRAME_INTERVAL_S",
    "MATCH_DISTANCE",
    "MIN_QUALITY",
    "QUERY_FRAMES",
    "QueryFrame",
    "FrameHash",
    "KeyframeSampler",
    "Keyframes",
    "MatchRule",
    "VideoFingerprint",
    "VideoFingerprintError",
    "VideoIndex",
    "VideoMatch",
    "compare",
    "fingerprint",
    "fingerprint_samples",
    "frame_quality",
    "query_frames",
]


class VideoIndex:
    """Reference videos held in memory: candidates by exact multi-index
    Hamming search over every entry's frames, then each candidate scored in
    full; entries with keyframes also by local features.

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
        self._keyframes = KeyframeIndex()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def wants_features(self) -> bool:
        """Whether some entry keeps keyframes, so that queries should bring `query_frames`."""
        return len(self._keyframes) > 0

    def add(self, entry_id: str, fp: VideoFingerprint, keyframes: Keyframes | None = None) -> None:
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
        if keyframes is not None and len(keyframes):
            self._keyframes.add(owner, keyframes)

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
        self,
        query: VideoFingerprint,
        rule: MatchRule | None = None,
        *,
        limit: int = 5,
        frames: tuple[QueryFrame, ...] = (),
    ) -> list[tuple[str, VideoMatch]]:
        """Entries sharing at least one frame with the query, matches first.

        `frames` (`query_frames` of the upload) are searched against the
        entries' keyframes when no entry matched by vPDQ.
        """
        rule = rule or MatchRule()
        if not self._ids:
            return []
        results = self._hashed(query, rule) if query.frames else []
        if frames and not any(m.matched for _, m in results):
            local = [(self._ids[o], m) for o, m in self._keyframes.lookup(frames, rule)]
            results = [r for r in local if r[1].matched] + results
        return results[:limit]

    def _hashed(self, query: VideoFingerprint, rule: MatchRule) -> list[tuple[str, VideoMatch]]:
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
        return results
