"""Candidate entries for the local-feature stage: nearest bank descriptor per
query descriptor through substring tables, one vote per query descriptor.

The second stage verifies (RANSAC) only a few entries; votes pick them. The
first pass found each query descriptor's nearest bank descriptor with
FLANN's LSH; on real ORB descriptors (CLAHE, low FAST threshold) its
buckets are crowded and a lookup cost 12 s of CPU against 1,000 media entries
(benchmarks/matching.py --orb). Here, as in `index.py`'s multi-index
hashing, each of the 16 16-bit substrings of every bank descriptor goes
into a table. Two ORB descriptors of the same point differ in roughly 20-50
of 256 bits, so one of their substrings is often identical (40 bits apart:
each substring equal with p ~ 0.07, at least one of 16 with p ~ 0.67). A
query descriptor's candidates are the bank descriptors sharing a substring
with it; their full Hamming distances are computed, and the nearest one
within `max_distance` gives its owner a vote. Buckets holding more than
4x the mean (flat-patch substrings shared with everything) are skipped.
Votes only rank candidates; `features.verify` decides.
"""

from __future__ import annotations

import numpy as np

CHUNKS = 16
_KEYS = 1 << 16
BUCKET_FACTOR = 4
MIN_BUCKET = 16


def _chunks(desc: np.ndarray) -> np.ndarray:
    """(N, 32) uint8 descriptors -> (N, 16) 16-bit substring values."""
    d = np.ascontiguousarray(desc, dtype=np.uint8)
    return d[:, 0::2].astype(np.int64) << 8 | d[:, 1::2]


def _words(desc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(desc, dtype=np.uint8).reshape(-1, 32).view(np.uint64)


class DescriptorVotes:
    """Substring tables over all bank descriptors; `votes(query)` -> votes per owner."""

    def __init__(self, owners: np.ndarray, descriptors: np.ndarray, n_owners: int):
        self.n_owners = int(n_owners)
        self.size = len(descriptors)
        self._owner = np.asarray(owners, np.int32)
        self._words = _words(descriptors) if self.size else np.zeros((0, 4), np.uint64)
        keys = _chunks(descriptors) if self.size else np.zeros((0, CHUNKS), np.int64)
        self._offsets = []
        self._rows = []
        for c in range(CHUNKS):
            col = keys[:, c]
            self._rows.append(np.argsort(col, kind="stable").astype(np.int32))
            offsets = np.zeros(_KEYS + 1, np.int64)
            np.cumsum(np.bincount(col, minlength=_KEYS), out=offsets[1:])
            self._offsets.append(offsets)
        # Substring values are far from uniform (flat patches, dark skies); the
        # crowded buckets cost the most and tell the least. Measured on 1,000
        # entries (690k descriptors, 60 queries): skipping buckets over 32x /
        # 8x / 4x / 2x the mean size, p50 per query side 300 / 61 / 21 / 7 ms,
        # the queried entry among the 5 candidates 22 / 23 / 24 / 24 of 30.
        self.max_bucket = max(MIN_BUCKET, BUCKET_FACTOR * self.size // _KEYS)

    @property
    def nbytes(self) -> int:
        tables = sum(o.nbytes for o in self._offsets) + sum(r.nbytes for r in self._rows)
        return tables + self._owner.nbytes + self._words.nbytes

    def votes(self, query: np.ndarray, max_distance: int = 64) -> np.ndarray:
        """Votes per owner (int64, length n_owners) for (M, 32) query descriptors."""
        out = np.zeros(self.n_owners, np.int64)
        if not len(query) or not self.size:
            return out
        keys = _chunks(query)
        qi_parts, row_parts = [], []
        for c in range(CHUNKS):
            offsets = self._offsets[c]
            starts = offsets[keys[:, c]]
            sizes = offsets[keys[:, c] + 1] - starts
            keep = np.flatnonzero((sizes > 0) & (sizes <= self.max_bucket))
            starts, sizes = starts[keep], sizes[keep]
            total = int(sizes.sum())
            if not total:
                continue
            # every bucket member: its bucket's start + its rank within the bucket
            first = np.repeat(np.cumsum(sizes) - sizes, sizes)
            pos = np.repeat(starts, sizes) + (np.arange(total) - first)
            qi_parts.append(np.repeat(keep, sizes))
            row_parts.append(self._rows[c][pos])
        if not qi_parts:
            return out
        qi = np.concatenate(qi_parts)
        rows = np.concatenate(row_parts)
        qwords = _words(query)
        dist = np.bitwise_count(qwords[qi] ^ self._words[rows]).sum(axis=1, dtype=np.int32)
        near = dist <= max_distance
        qi, rows, dist = qi[near], rows[near], dist[near]
        if not len(qi):
            return out
        # the nearest candidate per query descriptor (ties: the first row)
        order = np.lexsort((rows, dist, qi))
        _, first = np.unique(qi[order], return_index=True)
        best = rows[order[first]]
        return np.bincount(self._owner[best], minlength=self.n_owners).astype(np.int64)
