"""Exact Hamming range search over 256-bit codes: multi-index hashing (MIH).

Split the 256 bits into m substrings. If two codes differ in at most r bits,
then by the pigeonhole principle at least one substring differs in at most
floor(r / m) bits. So per substring table we look up the query's substring
and every value within floor(r / m) bit flips of it, and verify the
candidates with a vectorised popcount over the full 256 bits. Nothing within
the radius can be missed: the answers are those of a brute-force scan.

Tables are sorted row permutations plus a direct-addressed bucket-offset
array (2^w + 1 entries for a w-bit substring), so a probe is two array reads,
not a dict lookup or a binary search; a bank much smaller than 2^w keeps
sorted keys and probes with np.searchsorted instead. The number of tables is chosen from
the bank size: 16 x 16-bit tables (radius 31 -> 1-bit probes) keep the
offset arrays tiny for small banks; 11 tables of 23-24 bits (radius 31 ->
2-bit probes) cut the candidates about tenfold for 10^7 codes, for about
450 MB of offsets (benchmarks/matching.py measures both).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from .codes import pack_words
from .errors import InvalidHash

CODE_BITS = 256
# above this many codes the wider (11-table) layout wins; see the module docstring
WIDE_LAYOUT_FROM = 1 << 21
# fewer tables would need substrings wider than 24 bits (offset arrays of 2^32)
MIN_TABLES = 11


def _layout(m: int) -> tuple[tuple[int, int], ...]:
    """(bit offset, width) of m nearly equal substrings covering 256 bits."""
    base, extra = divmod(CODE_BITS, m)
    out, pos = [], 0
    for i in range(m):
        w = base + (1 if i < extra else 0)
        out.append((pos, w))
        pos += w
    return tuple(out)


def substring(words: np.ndarray, offset: int, width: int) -> np.ndarray:
    """Bits [offset, offset + width) of each code (bit 0 = most significant of word 0)."""
    j, r = divmod(offset, 64)
    mask = np.uint64((1 << width) - 1)
    if r + width <= 64:
        return ((words[:, j] >> np.uint64(64 - r - width)) & mask).astype(np.uint32)
    w1 = 64 - r
    w2 = width - w1
    hi = words[:, j] & np.uint64((1 << w1) - 1)
    lo = words[:, j + 1] >> np.uint64(64 - w2)
    return ((hi << np.uint64(w2)) | lo).astype(np.uint32)


@lru_cache(maxsize=64)
def _flip_masks(width: int, k: int) -> np.ndarray:
    """Every w-bit value with at most k bits set: XOR-ing them enumerates the probes."""
    masks = [0]
    for n in range(1, k + 1):
        for bits in combinations(range(width), n):
            masks.append(sum(1 << b for b in bits))
    out = np.array(masks, dtype=np.uint32)
    out.setflags(write=False)  # shared by every lookup thread
    return out


def _expand_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate arange(s, s + n) for every (s, n) without a Python loop."""
    keep = lengths > 0
    starts, lengths = starts[keep].astype(np.int64), lengths[keep].astype(np.int64)
    if len(lengths) == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    steps = np.ones(int(ends[-1]), np.int64)
    steps[0] = starts[0]
    steps[ends[:-1]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


def query_words(queries) -> np.ndarray:
    if isinstance(queries, bytes | bytearray):
        queries = [bytes(queries)]
    if isinstance(queries, list):
        for q in queries:
            if len(q) != 32:
                raise InvalidHash("a PDQ query must be 32 bytes")
    return pack_words(queries)


def brute_force(words: np.ndarray, queries, radius: int, chunk: int = 1 << 20):
    """Reference answers: (rows, distances) per query, by scanning every code."""
    qw = query_words(queries)
    out = []
    for q in qw:
        rows, dists = [], []
        for s in range(0, len(words), chunk):
            d = np.bitwise_count(words[s : s + chunk] ^ q).sum(axis=1)
            hit = np.flatnonzero(d <= radius)
            rows.append(hit + s)
            dists.append(d[hit])
        if rows:
            out.append((np.concatenate(rows), np.concatenate(dists).astype(np.int64)))
        else:
            out.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
    return out


class HammingIndex:
    """Immutable MIH index over N codes; rows are positions in the input array.

    All tables live in flat arrays so that a query costs a fixed handful of
    NumPy calls whatever the number of tables: `perm` holds every table's
    sorted row order back to back; a probe finds its bucket either through
    `starts` (direct addressing, dense banks) or by np.searchsorted in
    `keys` (table number << 24 | substring, sparse banks).
    """

    def __init__(self, codes, tables: int | None = None):
        self.words = codes if (isinstance(codes, np.ndarray) and codes.dtype == np.uint64) else None
        if self.words is None:
            self.words = pack_words(codes)
        if self.words.ndim != 2 or self.words.shape[1] != 4:
            raise InvalidHash("codes must be (N, 4) uint64 words or (N, 32) bytes")
        n = len(self.words)
        if tables is None:
            tables = 11 if n >= WIDE_LAYOUT_FROM else 16
        if not MIN_TABLES <= tables <= 64:
            raise ValueError(f"tables must be within {MIN_TABLES}..64 (substrings of <= 24 bits)")
        self.layout = _layout(tables)
        widths = [w for _, w in self.layout]
        # dense: a bank at least a quarter the size of the bucket space
        self.dense = (1 << max(widths)) <= 4 * max(n, 1)
        self.perm = np.empty(tables * n, np.uint32)
        if self.dense:
            self._bases = np.cumsum([0] + [(1 << w) + 1 for w in widths])[:-1].astype(np.int64)
            self.starts = np.empty(int(sum((1 << w) + 1 for w in widths)), np.uint32)
            self.keys = None
        else:
            self._bases = None
            self.starts = None
            self.keys = np.empty(tables * n, np.uint32)
        for t, (offset, width) in enumerate(self.layout):
            keys = substring(self.words, offset, width)
            # numpy sorts 16-bit keys by radix: ~4x faster than on uint32 (10^6 codes)
            order = np.argsort(keys.astype(np.uint16) if width <= 16 else keys, kind="stable")
            self.perm[t * n : (t + 1) * n] = order
            if self.dense:
                counts = np.bincount(keys, minlength=1 << width)
                b = self._bases[t]
                self.starts[b] = t * n
                np.cumsum(counts, out=self.starts[b + 1 : b + 1 + (1 << width)], dtype=np.uint32)
                self.starts[b + 1 : b + 1 + (1 << width)] += np.uint32(t * n)
            else:
                self.keys[t * n : (t + 1) * n] = keys[order] | np.uint32(t << 24)
        # per table: (word, shift, mask) pieces to cut a query's substring
        self._template: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.words)

    @property
    def nbytes(self) -> int:
        extra = self.starts.nbytes if self.dense else self.keys.nbytes
        return self.words.nbytes + self.perm.nbytes + extra

    def _probe_template(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(table of each probe, XOR mask of each probe) for probe radius k."""
        if k not in self._template:
            tables, masks = [], []
            for t, (_, width) in enumerate(self.layout):
                m = _flip_masks(width, min(k, width))
                tables.append(np.full(len(m), t, np.int64))
                masks.append(m)
            self._template[k] = (np.concatenate(tables), np.concatenate(masks))
        return self._template[k]

    def search(
        self, queries, radius: int, *, also_up_to: int | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(rows, distances) of the codes within `radius` of each query.

        Exact within `radius`. With `also_up_to`, candidates that the probes
        for `radius` happened to reach and that lie within `also_up_to` are
        returned too, at no extra cost but without a guarantee (a code at 43
        bits shares a substring within the probe depth with probability
        ~0.9-0.99 on random codes): good enough for weak "near" evidence.
        """
        if radius < 0:
            raise ValueError("radius must be >= 0")
        keep = radius if also_up_to is None else max(radius, also_up_to)
        qw = query_words(queries)
        nq = len(qw)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if len(self.words) == 0 or nq == 0:
            return [empty for _ in range(nq)]
        probe_table, probe_mask = self._probe_template(radius // len(self.layout))
        # (nq, tables) substrings of the queries, then every probe of every query
        subs = np.stack([substring(qw, o, w) for o, w in self.layout], axis=1)
        probes = subs[:, probe_table] ^ probe_mask[None, :]
        if self.dense:
            at = (probes + self._bases[probe_table][None, :]).reshape(-1)
            lo = self.starts[at].astype(np.int64)
            lengths = self.starts[at + 1].astype(np.int64) - lo
        else:
            ckeys = (probes | (probe_table[None, :] << 24).astype(np.uint32)).reshape(-1)
            lo = np.searchsorted(self.keys, ckeys, "left")
            lengths = np.searchsorted(self.keys, ckeys, "right") - lo
        idx = _expand_ranges(lo, lengths)
        if len(idx) == 0:
            return [empty for _ in range(nq)]
        rows = self.perm[idx].astype(np.int64)
        qs = np.repeat(np.arange(nq), lengths.reshape(nq, -1).sum(axis=1))
        # np.take and per-word popcounts: about 4x faster than 2-D fancy indexing
        # and a popcount over the (k, 4) array (measured at 4000 candidates)
        cand = np.take(self.words, rows, axis=0)
        x = cand ^ qw[0] if nq == 1 else cand ^ np.take(qw, qs, axis=0)
        d = np.bitwise_count(x[:, 0]).astype(np.int64)
        for j in (1, 2, 3):
            d += np.bitwise_count(x[:, j])
        hit = d <= keep
        rows, qs, d = rows[hit], qs[hit], d[hit]
        # a code found through several substrings is reported once
        _, first = np.unique(qs * len(self.words) + rows, return_index=True)
        rows, qs, d = rows[first], qs[first], d[first]
        if nq == 1:
            return [(rows, d.astype(np.int64))]
        return [(rows[qs == q], d[qs == q].astype(np.int64)) for q in range(nq)]
