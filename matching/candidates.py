"""The entries' ORB features and the search for the few worth verifying.

The local-feature stage cannot afford RANSAC against every entry: descriptor
votes (nearest bank descriptor per query descriptor) pick a handful of
candidates first, through substring tables (`votes.py`) or FLANN's LSH.
The stacked descriptors and both search structures are built on first need
and dropped whenever an entry with features comes or goes.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from dataclasses import replace

import cv2
import numpy as np

from .config import MatchConfig
from .features import LocalFeatures
from .votes import DescriptorVotes


class EntryFeatures:
    """ORB features per entry position, and the candidate search built over the active ones."""

    def __init__(self) -> None:
        self.by_entry: dict[int, LocalFeatures] = {}
        # the structures are built on first need by whichever lookup comes
        # first; concurrent lookups on a fresh bank must wait for that one
        # build, not each start their own (at 10^4 media one is 13 s and 0.5 GB)
        self._building = threading.RLock()
        self.drop_caches()

    def drop_caches(self) -> None:
        with self._building:
            self._stack = self._matcher = self._votes = None

    def stack(self, active: bytearray) -> tuple[np.ndarray, np.ndarray]:
        """(owner entry per descriptor, descriptors) of the active entries.

        The active entries' features then hold views into the stacked
        descriptors instead of their own copies: at 10^4 media that is 208 MB
        (6.5 M descriptors) a worker does not hold twice. A rebuild (after an
        entry came or went) makes new views, and the old stack goes with the
        last of the old ones.
        """
        with self._building:
            if self._stack is None:
                self._stack = self._stacked(active)
            return self._stack

    def _stacked(self, active: bytearray) -> tuple[np.ndarray, np.ndarray]:
        owners, descs, rows = [], [], []
        for idx, feats in sorted(self.by_entry.items()):
            if active[idx]:
                owners.append(np.full(len(feats), idx, np.int32))
                descs.append(feats.descriptors)
                rows.append(idx)
        if not descs:
            return np.zeros(0, np.int32), np.zeros((0, 32), np.uint8)
        stacked = np.concatenate(descs)
        start = 0
        for idx, part in zip(rows, descs, strict=True):
            view = stacked[start : start + len(part)]
            self.by_entry[idx] = replace(self.by_entry[idx], descriptors=view)
            start += len(part)
        return np.concatenate(owners), stacked

    def vote_matcher(self, active: bytearray):
        """Nearest bank descriptor per query descriptor, through FLANN's LSH tables.

        Votes only pick candidates (verification is exact), so approximate
        neighbours suffice. Measured on the accuracy benchmark: the same
        recall and false matches as a brute-force matcher, lookup p99 190 ms
        instead of 957 ms with 13,000 bank descriptors, and LSH grows
        sub-linearly where brute force grows with every entry.
        """
        with self._building:
            if self._matcher is None:
                _, descs = self.stack(active)
                params = dict(algorithm=6, table_number=6, key_size=12, multi_probe_level=1)
                matcher = cv2.FlannBasedMatcher(params, dict(checks=32))
                matcher.add([descs])
                matcher.train()
                self._matcher = matcher
            return self._matcher

    def vote_index(self, active: bytearray, n_entries: int) -> DescriptorVotes:
        with self._building:
            if self._votes is None:
                owners, descs = self.stack(active)
                self._votes = DescriptorVotes(owners, descs, n_entries)
                _release_freed_heap()
            return self._votes

    def warm(self, cfg: MatchConfig, active: bytearray, n_entries: int) -> None:
        """Build the search structure `candidates` will use now, not on the first lookup."""
        if cfg.candidates == "substrings":
            self.vote_index(active, n_entries)
        else:
            self.vote_matcher(active)

    def _voters(self, queries, cfg: MatchConfig, active: bytearray, n_entries: int):
        """Per query, the entry each of its voting descriptors votes for."""
        if cfg.candidates == "substrings":
            index = self.vote_index(active, n_entries)
            return index.voters_each([q.descriptors for q in queries], cfg.vote_distance)
        owners, _ = self.stack(active)
        out = []
        for query in queries:
            nearest = self.vote_matcher(active).match(query.descriptors)
            out.append(
                np.array([owners[m.trainIdx] for m in nearest if m.distance <= cfg.vote_distance])
            )
        return out

    def candidates(
        self, query: LocalFeatures, cfg: MatchConfig, active: bytearray, n_entries: int
    ) -> list[int]:
        """Entry positions worth verifying for these features, best first.

        The max_candidates entries with the most votes, at least min_votes,
        ties to the lower position. Counted over the entries voted for, not
        per entry of the bank: its PDQ codes without media are entries too.
        """
        return self.candidates_each([query], cfg, active, n_entries)[0]

    def candidates_each(
        self, queries: list[LocalFeatures], cfg: MatchConfig, active: bytearray, n_entries: int
    ) -> list[list[int]]:
        """`candidates` of each query, their votes found in one pass."""
        out = []
        for entries, votes in self.votes_each(queries, cfg, active, n_entries):
            order = np.lexsort((entries, -votes))[: cfg.max_candidates]
            out.append([int(e) for e in entries[order]])
        return out

    def votes_each(
        self, queries: list[LocalFeatures], cfg: MatchConfig, active: bytearray, n_entries: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query, (entry positions, their votes) of the entries with at least min_votes."""
        _, descs = self.stack(active)
        none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        out = [none for _ in queries]
        asked = [i for i, q in enumerate(queries) if len(q)]
        if len(descs) == 0 or not asked:
            return out
        voters = self._voters([queries[i] for i in asked], cfg, active, n_entries)
        for i, voted in zip(asked, voters, strict=True):
            entries, votes = np.unique(voted, return_counts=True)
            keep = votes >= cfg.min_votes
            out[i] = (entries[keep].astype(np.int64), votes[keep].astype(np.int64))
        return out


def _release_freed_heap() -> None:
    """Hand the heap pages freed by a build back to the system (glibc only; else nothing).

    The entries' own descriptor copies (replaced by views in `stack`) are
    10^4 small blocks between their points and angles: glibc keeps such
    freed blocks in the process, so without this the worker's RSS stays as
    if they were still held. Measured at 10^4 media + 10^6 codes: 1.15 ->
    0.89 GB after the index build (benchmarks/hook_latency.py reports RSS).
    """
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)
