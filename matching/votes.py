"""Candidate entries for the local-feature stage: nearest bank descriptor per
query descriptor through substring tables, one vote per query descriptor.

The second stage verifies (RANSAC) only a few entries; votes pick them. The
first pass found each query descriptor's nearest bank descriptor with
FLANN's LSH; on real ORB descriptors (CLAHE, low FAST threshold) its
buckets are crowded and a lookup cost 12 s of CPU against 1,000 media entries
(benchmarks/matching.py --orb). Here, as in `index.py`'s multi-index
hashing, 16 substrings of every bank descriptor go into tables: substring c
is the `bits`-bit window starting at bit 16c (wrapping past bit 255), so with
16-bit windows they are the 16 disjoint 16-bit pieces. A query descriptor's
candidates are the bank descriptors sharing a substring with it; their full
Hamming distances are computed, and the nearest one within `max_distance`
gives its owner a vote. Buckets holding more than 4x the mean (flat-patch
substrings shared with everything) are skipped. Votes only rank candidates;
`features.verify` decides.

Window width. A query descriptor's work is the sizes of its 16 buckets, and
the mean bucket holds N / 2^bits of the N bank descriptors: with a fixed
16-bit window it grows with the bank (~100 at 10^4 media, 6.5 M descriptors,
~300 ms per 2 MP upload). So the width follows N: 16 bits while N <= 2^18
(`MEAN_BUCKET` 4 x 2^16: every bank up to ~380 media, the accuracy
benchmark's among them, behaves as before), then ceil(log2(N / 4)) bits (18
at 1,000 media, 21 at 10^4, 24 at 10^5), which keeps the mean bucket at 2-4
descriptors. The price is recall per descriptor. Two ORB descriptors of the
same point differ in d ~ 20-50 of 256 bits; with the d bits spread at random
one window is identical with p = C(256 - w, d) / C(256, d), and at least one
of the 16 (overlapping once w > 16; Monte Carlo, 2 x 10^5 draws) with:

| d | w = 16 | 18 | 19 | 20 | 21 | 22 | 24 |
|---|---|---|---|---|---|---|---|
| 20 | 0.26/1.00 | 0.22/0.99 | 0.20/0.99 | 0.18/0.98 | 0.17/0.97 | 0.15/0.95 | 0.13/0.91 |
| 30 | 0.13/0.93 | 0.10/0.85 | 0.09/0.79 | 0.07/0.74 | 0.07/0.68 | 0.06/0.63 | 0.04/0.51 |
| 40 | 0.06/0.67 | 0.04/0.52 | 0.04/0.45 | 0.03/0.39 | 0.02/0.33 | 0.02/0.28 | 0.01/0.20 |
| 50 | 0.03/0.38 | 0.02/0.25 | 0.01/0.20 | 0.01/0.16 | 0.01/0.13 | 0.01/0.10 | 0.00/0.06 |

(one window / any of 16). Close correspondences (d <= 30, the ones that
survive a crop) keep most of their votes; far ones lose half or more. Wide
tables skip what 16-bit ones skip (a window's first 16 bits are the 16-bit
substring, so the candidates are a subset of the 16-bit ones) and buckets
over 32 besides. Measured on real crops, the true entry's votes fall by ~25%
at 21 bits and it still ranks first nearly always: benchmarks/matching.py
--orb (1,000 entries, 18 bits) finds 30/30 crops with 0/60 false matches, as
with 16 bits, at 28 instead of 34 CPU ms per lookup; of 60 crops keeping 60%
of a view banked among benchmarks/hook_latency.py's 10^4 media (21 bits),
53 are found and 52 have their photo's entry first (16-bit windows: 54 and
54; the two lost ones had 13 votes and now 8-9, under `min_votes` 10).
Without the prefix rule all 54 are found but the votes cost 21 ms, not 14.
Per 2 MP upload (plain + mirrored query) the votes cost 25 / 300 ms at
10^3 / 10^4 media with 16-bit windows, 8 / 14 ms with these; the tables take
16 x 4 bytes per descriptor plus 16 x 4 x 2^bits bytes of offsets (756 MB at
10^4 media with the descriptors themselves, 632 MB before).

One pass. The 16 tables are one array of 16 x 2^bits buckets, looked up for
all windows of all query descriptors at once (candidates come out grouped by
query descriptor, so the nearest is a `minimum.reduceat`, not a sort), and
buckets the skip rules reject are stored empty, so their rows take no memory
and a query need not test them. Same votes as the per-table loop (checked on
12 queries against hook_latency.py's 10^4 media, and against the rule itself
in tests/matching/test_second_stage.py); per 2 MP query side at 10^4 media
12.3 -> 3.7 CPU ms, the index 756 -> 507 MB (a third of the rows sat in
skipped buckets), its build 19 -> 11 CPU s.
"""

from __future__ import annotations

import math

import numpy as np

CHUNKS = 16
BUCKET_FACTOR = 4
MIN_BUCKET = 16
WIDE_MIN_BUCKET = 32
MIN_BITS = 16
MAX_BITS = 28  # offsets of 2^28 buckets per table: 1 GiB, at ~10^9 descriptors
MEAN_BUCKET = 4  # bank descriptors per bucket, on average, once the window widens


def key_bits(n: int) -> int:
    """Window width for a bank of n descriptors: the mean bucket stays <= MEAN_BUCKET."""
    if n <= MEAN_BUCKET << MIN_BITS:
        return MIN_BITS
    return min(MAX_BITS, math.ceil(math.log2(n / MEAN_BUCKET)))


# Window c is `bits` bits from bit 16c of a descriptor, wrapping: the 4 bytes
# from byte 2c, read as one big-endian word and cut to its top `bits` (at
# MIN_BITS, the 2 bytes from byte 2c). Both the index build (a window at a
# time) and a query (all windows at once) read them from here.
_WINDOW_BYTES = (2 * np.arange(CHUNKS)[:, None] + np.arange(4)) % 32


def _windows(d: np.ndarray, windows: slice | list[int], bits: int) -> np.ndarray:
    """Some windows (an index into CHUNKS) of contiguous (N, 32) uint8 rows, as int64 columns."""
    if bits == MIN_BITS:
        # the 2 bytes of window c are the c-th big-endian 16-bit word
        return d.view(">u2")[:, windows].astype(np.int64)
    words = np.ascontiguousarray(d[:, _WINDOW_BYTES[windows].ravel()]).view(">u4")
    return words.astype(np.int64) >> (32 - bits)


def _chunks(desc: np.ndarray, bits: int = MIN_BITS) -> np.ndarray:
    """(N, 32) uint8 descriptors -> (N, 16) `bits`-bit windows starting every 16 bits."""
    d = np.ascontiguousarray(desc, dtype=np.uint8).reshape(-1, 32)
    return _windows(d, slice(None), bits)


def _chunk(d: np.ndarray, c: int, bits: int) -> np.ndarray:
    """Window c of contiguous (N, 32) uint8 rows."""
    return _windows(d, [c], bits)[:, 0]


# times 0x01010101, a uint32 of four byte counts holds their sum in its top byte
_BYTE_SUM = np.uint32(0x01010101)


def _words(desc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(desc, dtype=np.uint8).reshape(-1, 32).view(np.uint64)


class DescriptorVotes:
    """Substring tables over all bank descriptors; `votes(query)` -> votes per owner."""

    def __init__(
        self, owners: np.ndarray, descriptors: np.ndarray, n_owners: int, bits: int | None = None
    ):
        self.n_owners = int(n_owners)
        self.size = len(descriptors)
        self.bits = key_bits(self.size) if bits is None else int(bits)
        n_keys = 1 << self.bits
        self._owner = np.asarray(owners, np.int32)
        self._words = _words(descriptors) if self.size else np.zeros((0, 4), np.uint64)
        desc = np.ascontiguousarray(descriptors, dtype=np.uint8).reshape(-1, 32)
        # Substring values are far from uniform (flat patches, dark skies); the
        # crowded buckets cost the most and tell the least. Measured on 1,000
        # entries (690k descriptors, 60 queries, 16-bit windows): skipping
        # buckets over 32x / 8x / 4x / 2x the mean size, p50 per query side 300 /
        # 61 / 21 / 7 ms, the queried entry among the 5 candidates 22 / 23 / 24 / 24 of 30.
        # Wider windows skip what 16-bit ones skip (a window's first 16 bits are
        # the 16-bit substring: `max_prefix` is the 16-bit rule), so they look at
        # a subset of the 16-bit candidates, and buckets over 32 besides (their
        # mean is 2-4). Measured at 10^4 media (21 bits; benchmarks/hook_latency.py's
        # bank, 60 crops keeping 60% of a banked view; without the prefix rule):
        # a floor of 16 / 24 / 32 / 64, votes per 2 MP upload 13 / 16 / 21 / 41 ms,
        # crops found 53 / 53 / 54 / 54 of 60 (54 with 16-bit windows, the same 54).
        self.max_prefix = max(MIN_BUCKET, BUCKET_FACTOR * self.size >> MIN_BITS)
        floor = MIN_BUCKET if self.bits <= MIN_BITS else WIDE_MIN_BUCKET
        self.max_bucket = max(floor, BUCKET_FACTOR * self.size // n_keys)
        # One table of CHUNKS * 2^bits buckets (bucket c * 2^bits + key holds the
        # rows whose window c is `key`), so a query looks up all its windows in
        # one pass. A bucket the rules above skip is stored empty: a query never
        # reads it, and its rows (the crowded buckets' share of the bank) cost
        # no memory.
        kept_rows = []
        counts_all = np.zeros(CHUNKS * n_keys, np.int64)
        for c in range(CHUNKS):
            col = _chunk(desc, c, self.bits)
            counts = np.bincount(col, minlength=n_keys)
            skip = counts > self.max_bucket
            if self.bits > MIN_BITS:
                prefix = counts.reshape(1 << MIN_BITS, -1).sum(axis=1)
                skip |= np.repeat(prefix > self.max_prefix, n_keys >> MIN_BITS)
            counts[skip] = 0
            rows = np.flatnonzero(~skip[col])
            kept_rows.append(rows[np.argsort(col[rows], kind="stable")].astype(np.int32))
            counts_all[c * n_keys : (c + 1) * n_keys] = counts
        total = int(counts_all.sum())
        offset_type = np.int32 if total < 2**31 else np.int64
        self._offsets = np.zeros(CHUNKS * n_keys + 1, offset_type)
        np.cumsum(counts_all, out=self._offsets[1:])
        del counts_all
        self._rows = np.concatenate(kept_rows) if kept_rows else np.zeros(0, np.int32)
        self._base = (np.arange(CHUNKS, dtype=np.int64) * n_keys)[None, :]

    @property
    def nbytes(self) -> int:
        tables = self._offsets.nbytes + self._rows.nbytes
        return tables + self._owner.nbytes + self._words.nbytes

    def votes(self, query: np.ndarray, max_distance: int = 64) -> np.ndarray:
        """Votes per owner (int64, length n_owners) for (M, 32) query descriptors."""
        return np.bincount(self.voters(query, max_distance), minlength=self.n_owners)

    def voters(self, query: np.ndarray, max_distance: int = 64) -> np.ndarray:
        """The owner each voting query descriptor votes for (int32, one per voter).

        Only as long as the query: a bank of 10^6 PDQ codes and 10^4 media has
        10^6 owners, and a per-owner array (then sorted) cost ~7 ms a side.
        """
        return self._nearest(query, max_distance)[1]

    def voters_each(self, queries: list[np.ndarray], max_distance: int = 64) -> list[np.ndarray]:
        """`voters` of each of several queries, looked up in one pass.

        The same owners as one `voters` call per query (a query descriptor's
        vote depends on it alone); one pass saves the fixed cost of a second
        (a query's plain and mirrored sides: ~0.4 of ~6 CPU ms at 10^4 media).
        """
        sizes = [len(q) for q in queries]
        if not any(sizes):
            return [np.zeros(0, np.int32) for _ in queries]
        stacked = np.concatenate([np.asarray(q, np.uint8).reshape(-1, 32) for q in queries])
        qi, owners = self._nearest(stacked, max_distance)
        cuts = np.searchsorted(qi, np.cumsum(sizes)[:-1])
        return np.split(owners, cuts)

    def _nearest(self, query: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
        """(query descriptor, owner of its nearest bank descriptor) of each voter, by descriptor."""
        out = np.zeros(0, np.int32), np.zeros(0, np.int32)
        if not len(query) or not self.size:
            return out
        # every (query descriptor, window) bucket, query-major, so that the
        # candidates come out grouped by query descriptor
        bucket = (_chunks(query, self.bits) + self._base).ravel()
        # np.take, not fancy indexing: 3x faster on the gathers below, ~12% on
        # these (measured)
        starts = np.take(self._offsets, bucket)
        sizes = np.take(self._offsets, bucket + 1) - starts
        keep = np.flatnonzero(sizes)
        starts, sizes = starts[keep], sizes[keep]
        total = int(sizes.sum())
        if not total:
            return out
        # every bucket member: its bucket's start + its rank within the bucket
        pos = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(total)
        per_query = np.bincount(keep // CHUNKS, weights=sizes, minlength=len(query))
        per_query = per_query.astype(np.int64)
        # the query's rows repeated in order, not gathered, since they are grouped
        rows = np.take(self._rows, pos)
        diff = np.repeat(_words(query), per_query, axis=0)
        np.bitwise_xor(diff, np.take(self._words, rows, axis=0), out=diff)
        # the four words' counts summed in one multiply (the top byte of the
        # product): exact, since a candidate shares a window of >= 1 bit with
        # the query, so no count reaches 256 (measured 6x faster than four
        # column adds, which were 6x faster than .sum(axis=1))
        dist = (np.bitwise_count(diff).view(np.uint32).ravel() * _BYTE_SUM) >> 24
        near = np.flatnonzero(dist <= max_distance)
        if not len(near):
            return out
        qi = np.repeat(np.arange(len(query)), per_query)[near]
        rows, dist = rows[near], dist[near].astype(np.int64)
        # the nearest candidate per query descriptor (ties: the first row): the
        # least (distance, row) of each run of one query descriptor
        firsts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        nearest = np.minimum.reduceat(dist << 32 | rows, firsts)
        return qi[firsts], self._owner[nearest & 0xFFFFFFFF]
