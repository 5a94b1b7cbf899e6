"""An in-memory bank of known media: add entries, look up an image's hashes.

Entries are kept as columns (ids, category and severity codes, pHash,
active flags) beside one Hamming index of their PDQ codes. A lookup runs two
stages, as in the research note (`stages.py`):

1. hash stage: the query's 8 PDQ dihedral variants (and those of the picture
   inside letterbox bars) against every entry's PDQ codes through the exact
   MIH index, at `radius` (31). Nothing closer than `near_radius` but above
   `radius` is a match; it is reported as a near match (weak evidence).
2. local-feature stage, only when stage 1 found nothing and both the query
   and some entries carry ORB features: descriptor votes (nearest bank
   descriptor per query descriptor, found through substring tables,
   `votes.py`) pick a few candidate entries (`candidates.py`), and RANSAC
   on a similarity transform, then a guided count under that transform,
   confirm them.

The bank knows nothing of databases: the service fills it from its database
and rebuilds it when the bank version changes.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from . import codes
from .candidates import EntryFeatures
from .config import DEFAULT_MIN_QUALITY, DEFAULT_NEAR_RADIUS, DEFAULT_RADIUS, MatchConfig
from .errors import BankError, InvalidHash
from .features import LocalFeatures
from .hashing import Hashes
from .index import HammingIndex, brute_force
from .results import HASH_TYPES, LookupResult, Match
from .stages import lookup
from .votes import DescriptorVotes

__all__ = [
    "DEFAULT_MIN_QUALITY",
    "DEFAULT_NEAR_RADIUS",
    "DEFAULT_RADIUS",
    "HASH_TYPES",
    "Bank",
    "LookupResult",
    "Match",
    "MatchConfig",
]

_TYPE_CODE = {name: i for i, name in enumerate(HASH_TYPES)}


@dataclass
class Bank:
    """Entries with PDQ codes (and optionally pHash and ORB features), searchable."""

    config: MatchConfig = field(default_factory=MatchConfig)

    def __post_init__(self):
        # Entries are kept as columns, not one Python object each: a bank of
        # 10^6 imported hashes then loads in about a second (benchmarks/
        # matching.py, "load" table) instead of ~50 s through add().
        self._ids: list[str] = []
        self._names: list[str | None] = [None]  # category and severity texts
        self._name_codes: dict[str | None, int] = {None: 0}
        self._cat = array("i")
        self._sev = array("i")
        self._active = bytearray()
        self._phash = bytearray()  # PHASH_BYTES per entry, zeros when absent
        self._has_phash = bytearray()
        self._features = EntryFeatures()
        self._n_active = 0
        # entry id -> position; built on first need (bulk loads never need it)
        self._by_id: dict[str, int] | None = None
        # indexed codes: row -> (entry index, hash type)
        self._index = HammingIndex(np.zeros((0, 4), np.uint64))
        self._row_entry = np.zeros(0, np.int64)
        self._row_type = np.zeros(0, np.int8)
        self._pending: list[tuple[bytes, int, int]] = []

    # --- entry columns --------------------------------------------------
    def _name_code(self, name: str | None) -> int:
        code = self._name_codes.get(name)
        if code is None:
            code = self._name_codes[name] = len(self._names)
            self._names.append(name)
        return code

    def _name_column(self, values, n: int) -> array:
        if values is None or isinstance(values, str):
            return array("i", [self._name_code(values)]) * n
        values = list(values)
        if len(values) != n:
            raise BankError(f"expected {n} categories or severities, got {len(values)}")
        for name in set(values):
            self._name_code(name)
        # a C-level dict lookup per value: ~20x faster than a method call each
        return array("i", map(self._name_codes.__getitem__, values))

    def _position(self, entry_id: str) -> int | None:
        if self._by_id is None:
            # later positions win: a re-added id points at its newest entry
            self._by_id = {eid: i for i, eid in enumerate(self._ids)}
        return self._by_id.get(entry_id)

    def _is_active(self, idx: int | None) -> bool:
        return idx is not None and bool(self._active[idx])

    # --- building -------------------------------------------------------
    def add(
        self,
        entry_id: str,
        hashes: Hashes | None = None,
        *,
        pdq: bytes | str | None = None,
        pdq_unboxed: bytes | str | None = None,
        phash: bytes | str | None = None,
        features: LocalFeatures | None = None,
        category: str | None = None,
        severity: str | None = None,
        compact: bool = True,
    ) -> None:
        """Add one entry from an image's Hashes or from bare codes (e.g. a PDQ export).

        New codes are scanned linearly until `max_pending` of them gather and
        the index is rebuilt; many entries at once go through `add_entries`.
        """
        entry_id = str(entry_id)
        if self._is_active(self._position(entry_id)):
            raise BankError(f"entry {entry_id} is already in the bank")
        if hashes is not None:
            pdq = pdq or hashes.pdq
            pdq_unboxed = pdq_unboxed or hashes.pdq_unboxed
            phash = phash or hashes.phash
            features = features or hashes.features
        if pdq is None:
            raise InvalidHash(f"entry {entry_id} has no PDQ hash")
        pdq = _code(pdq, codes.PDQ_BYTES, "PDQ hash")
        pdq_unboxed = _code(pdq_unboxed, codes.PDQ_BYTES, "unboxed PDQ hash")
        phash = _code(phash, codes.PHASH_BYTES, "pHash")
        idx = len(self._ids)
        self._ids.append(entry_id)
        self._by_id[entry_id] = idx
        self._cat.append(self._name_code(category))
        self._sev.append(self._name_code(severity))
        self._active.append(1)
        self._n_active += 1
        self._phash += phash or bytes(codes.PHASH_BYTES)
        self._has_phash.append(phash is not None)
        if features is not None and len(features):
            self._features.by_entry[idx] = features
            self._features.drop_caches()
        self._pending.append((pdq, idx, _TYPE_CODE["pdq"]))
        if pdq_unboxed is not None and pdq_unboxed != pdq:
            self._pending.append((pdq_unboxed, idx, _TYPE_CODE["pdq_unboxed"]))
        if compact and len(self._pending) > self.config.max_pending:
            self.compact()

    def add_entries(
        self,
        entry_ids,
        pdq: np.ndarray,
        *,
        pdq_unboxed: np.ndarray | None = None,
        unboxed_mask: np.ndarray | None = None,
        phash: np.ndarray | None = None,
        phash_mask: np.ndarray | None = None,
        categories=None,
        severities=None,
        features: dict[int, LocalFeatures] | None = None,
    ) -> None:
        """Add N entries from columns and rebuild the index once.

        `pdq` is (N, 32) uint8; `pdq_unboxed` (N, 32) and `phash` (N, 8) come
        with boolean masks of the rows that have one. `categories` and
        `severities` are one value for all or one per entry; `features` maps
        a row to its LocalFeatures (only media-added entries have them).
        """
        entry_ids = list(map(str, entry_ids))
        n = len(entry_ids)
        pdq = np.ascontiguousarray(pdq, dtype=np.uint8)
        if pdq.shape != (n, codes.PDQ_BYTES):
            raise InvalidHash("pdq must be (N, 32) uint8 with one row per entry id")
        if len(set(entry_ids)) != n:
            raise BankError("entry ids must be unique")
        if self._ids and any(self._is_active(self._position(e)) for e in entry_ids):
            raise BankError("some entries are already in the bank")
        cats = self._name_column(categories, n)
        sevs = self._name_column(severities, n)
        ph = np.zeros((n, codes.PHASH_BYTES), np.uint8)
        has_ph = np.zeros(n, bool)
        if phash is not None:
            has_ph = np.ones(n, bool) if phash_mask is None else np.asarray(phash_mask, bool)
            ph = np.where(has_ph[:, None], np.asarray(phash, np.uint8), 0).astype(np.uint8)
            if ph.shape != (n, codes.PHASH_BYTES):
                raise InvalidHash("phash must be (N, 8) uint8")
        extra_rows = np.zeros(0, np.int64)
        extra = np.zeros((0, codes.PDQ_BYTES), np.uint8)
        if pdq_unboxed is not None:
            pdq_unboxed = np.asarray(pdq_unboxed, np.uint8)
            if pdq_unboxed.shape != (n, codes.PDQ_BYTES):
                raise InvalidHash("pdq_unboxed must be (N, 32) uint8")
            has = np.ones(n, bool) if unboxed_mask is None else np.asarray(unboxed_mask, bool)
            # an unboxed hash equal to the full one adds nothing to search
            has &= (pdq_unboxed != pdq).any(axis=1)
            extra_rows = np.flatnonzero(has)
            extra = pdq_unboxed[extra_rows]
        self.compact()
        start = len(self._ids)
        self._ids.extend(entry_ids)
        if self._by_id is not None:
            self._by_id.update(zip(entry_ids, range(start, start + n), strict=True))
        self._cat.extend(cats)
        self._sev.extend(sevs)
        self._active.extend(b"\x01" * n)
        self._n_active += n
        self._phash.extend(ph.tobytes())
        self._has_phash.extend(has_ph.astype(np.uint8).tobytes())
        for row, feats in (features or {}).items():
            if feats is not None and len(feats):
                self._features.by_entry[start + int(row)] = feats
        self._features.drop_caches()
        new_words = codes.pack_words(np.concatenate([pdq, extra]))
        self._row_entry = np.concatenate(
            [self._row_entry, np.arange(start, start + n), extra_rows + start]
        )
        self._row_type = np.concatenate(
            [
                self._row_type,
                np.full(n, _TYPE_CODE["pdq"], np.int8),
                np.full(len(extra_rows), _TYPE_CODE["pdq_unboxed"], np.int8),
            ]
        )
        self._index = HammingIndex(np.concatenate([self._index.words, new_words]))

    def add_codes(self, entry_ids, pdq_codes: np.ndarray, category=None, severity=None) -> None:
        """Bulk add bare PDQ codes ((N, 32) uint8), e.g. a large import or a benchmark."""
        self.add_entries(entry_ids, pdq_codes, categories=category, severities=severity)

    def remove(self, entry_id: str) -> None:
        idx = self._position(str(entry_id))
        if not self._is_active(idx):
            raise BankError(f"entry {entry_id} is not in the bank")
        self._active[idx] = 0
        self._n_active -= 1
        if idx in self._features.by_entry:
            self._features.drop_caches()

    def compact(self) -> None:
        """Fold pending codes into the index (drops removed entries' codes too)."""
        if not self._pending and bool(self._active_rows().all()):
            return
        keep = self._active_rows()
        words = self._index.words[keep]
        row_entry, row_type = self._row_entry[keep], self._row_type[keep]
        if self._pending:
            words = np.concatenate([words, codes.pack_words([p[0] for p in self._pending])])
            row_entry = np.concatenate([row_entry, [p[1] for p in self._pending]])
            row_type = np.concatenate([row_type, np.array([p[2] for p in self._pending], np.int8)])
        self._pending = []
        self._index = HammingIndex(words)
        self._row_entry, self._row_type = row_entry.astype(np.int64), row_type

    def _active_rows(self) -> np.ndarray:
        if not len(self._row_entry):
            return np.zeros(0, bool)
        return np.frombuffer(self._active, np.uint8).view(bool)[self._row_entry]

    def __len__(self) -> int:
        return self._n_active

    def __contains__(self, entry_id) -> bool:
        return self._is_active(self._position(str(entry_id)))

    @property
    def nbytes(self) -> int:
        return self._index.nbytes + self._row_entry.nbytes + self._row_type.nbytes

    @property
    def wants_features(self) -> bool:
        """Whether a query should bring ORB features (some entry has them)."""
        return any(self._active[i] for i in self._features.by_entry)

    # --- searching ------------------------------------------------------
    def search_codes(
        self, queries: list[bytes], radius: int, near: int | None = None
    ) -> list[list[tuple[int, int, int]]]:
        """Per query: (entry index, hash type code, distance) of active codes within radius.

        With `near`, also codes up to `near` that the radius search reached
        (exhaustive for codes not yet folded into the index, best effort
        beyond `radius` otherwise; see HammingIndex.search).
        """
        results = [[] for _ in queries]
        if not queries:
            return results
        found = self._index.search(queries, radius, also_up_to=near)
        for q, (rows, dists) in enumerate(found):
            for row, d in zip(rows.tolist(), dists.tolist(), strict=True):
                results[q].append((int(self._row_entry[row]), int(self._row_type[row]), d))
        if self._pending:
            words = codes.pack_words([p[0] for p in self._pending])
            limit = radius if near is None else max(radius, near)
            for q, (rows, dists) in enumerate(brute_force(words, queries, limit)):
                for row, d in zip(rows.tolist(), dists.tolist(), strict=True):
                    _, idx, t = self._pending[row]
                    results[q].append((idx, t, d))
        for q in range(len(queries)):
            results[q] = [r for r in results[q] if self._active[r[0]]]
        return results

    def lookup_pdq(self, pdq: bytes | str, radius: int | None = None) -> list[Match]:
        """Entries whose PDQ codes lie within `radius` of one bare PDQ hash (HMA's lookup)."""
        pdq = _code(pdq, codes.PDQ_BYTES, "PDQ hash")
        radius = self.config.radius if radius is None else radius
        best: dict[int, Match] = {}
        for idx, t, d in self.search_codes([pdq], radius)[0]:
            m = self.match_at(idx, d, HASH_TYPES[t], "original")
            if idx not in best or d < best[idx].distance:
                best[idx] = m
        return sorted(best.values(), key=lambda m: (m.distance, m.entry_id))

    def lookup(self, hashes: Hashes) -> LookupResult:
        """The hash stage, then (when it finds nothing) the local-feature stage: `stages.py`."""
        return lookup(self, hashes)

    # --- what the lookup stages read -------------------------------------
    def phash_distance(self, idx: int, phash: bytes | None) -> int | None:
        """pHash distance of entry `idx` to `phash`, None when either has none."""
        if phash is None or not self._has_phash[idx]:
            return None
        at = idx * codes.PHASH_BYTES
        return codes.hamming(phash, bytes(self._phash[at : at + codes.PHASH_BYTES]))

    def match_at(self, idx, distance, hash_type, variant, phash=None, stage="hash", inliers=None):
        """The Match reporting entry position `idx`."""
        return Match(
            self._ids[idx],
            self._names[self._cat[idx]],
            self._names[self._sev[idx]],
            distance,
            hash_type,
            stage,
            variant,
            inliers,
            self.phash_distance(idx, phash),
        )

    def entry_features(self, idx: int) -> LocalFeatures:
        return self._features.by_entry[idx]

    # --- local features -------------------------------------------------
    # the two search structures, reached by benchmarks/matching.py to time
    # their build and measure their size
    def _vote_matcher(self):
        return self._features.vote_matcher(self._active)

    def _vote_index(self) -> DescriptorVotes:
        return self._features.vote_index(self._active, len(self._ids))

    def warm(self) -> None:
        """Build the second stage's search structures now (they are built on first need).

        A service building a new bank in the background calls this before
        swapping it in, so no upload waits for the build (13 s at 10^4 media).
        """
        if self.wants_features:
            self._features.warm(self.config, self._active, len(self._ids))

    def candidates(self, query: LocalFeatures) -> list[int]:
        """Entry positions the local-feature stage verifies for these features, best first."""
        return self._features.candidates(query, self.config, self._active, len(self._ids))

    def candidates_each(self, queries: list[LocalFeatures]) -> list[list[int]]:
        """`candidates` of each of several feature sets (one vote pass for all)."""
        return self._features.candidates_each(queries, self.config, self._active, len(self._ids))


def _code(value, nbytes: int, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return codes.from_hex(value, nbytes, what)
    return codes.check_code(value, nbytes, what)
