"""The entries' ORB features and the search for the few worth verifying.

The local-feature stage cannot afford RANSAC against every entry: descriptor
votes (nearest bank descriptor per query descriptor) pick a handful of
candidates first, through substring tables (`votes.py`) or FLANN's LSH.
The stacked descriptors and both search structures are built on first need
and dropped whenever an entry with features comes or goes.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import MatchConfig
from .features import LocalFeatures
from .votes import DescriptorVotes


class EntryFeatures:
    """ORB features per entry position, and the candidate search built over the active ones."""

    def __init__(self) -> None:
        self.by_entry: dict[int, LocalFeatures] = {}
        self.drop_caches()

    def drop_caches(self) -> None:
        self._stack = self._matcher = self._votes = None

    def stack(self, active: bytearray) -> tuple[np.ndarray, np.ndarray]:
        """(owner entry per descriptor, descriptors) of the active entries."""
        if self._stack is None:
            owners, descs = [], []
            for idx, feats in sorted(self.by_entry.items()):
                if active[idx]:
                    owners.append(np.full(len(feats), idx, np.int64))
                    descs.append(feats.descriptors)
            if descs:
                self._stack = (np.concatenate(owners), np.concatenate(descs))
            else:
                self._stack = (np.zeros(0, np.int64), np.zeros((0, 32), np.uint8))
        return self._stack

    def vote_matcher(self, active: bytearray):
        """Nearest bank descriptor per query descriptor, through FLANN's LSH tables.

        Votes only pick candidates (verification is exact), so approximate
        neighbours suffice. Measured on the accuracy benchmark: the same
        recall and false matches as a brute-force matcher, lookup p99 190 ms
        instead of 957 ms with 13,000 bank descriptors, and LSH grows
        sub-linearly where brute force grows with every entry.
        """
        if self._matcher is None:
            _, descs = self.stack(active)
            params = dict(algorithm=6, table_number=6, key_size=12, multi_probe_level=1)
            matcher = cv2.FlannBasedMatcher(params, dict(checks=32))
            matcher.add([descs])
            matcher.train()
            self._matcher = matcher
        return self._matcher

    def vote_index(self, active: bytearray, n_entries: int) -> DescriptorVotes:
        if self._votes is None:
            owners, descs = self.stack(active)
            self._votes = DescriptorVotes(owners, descs, n_entries)
        return self._votes

    def _scores(
        self, query: LocalFeatures, cfg: MatchConfig, active: bytearray, n_entries: int
    ) -> tuple[np.ndarray, float]:
        """Per entry a score for the query's descriptors, and the score a candidate needs."""
        if cfg.candidates == "substrings":
            votes = self.vote_index(active, n_entries).votes(query.descriptors, cfg.vote_distance)
            return votes, cfg.min_votes
        owners, _ = self.stack(active)
        nearest = self.vote_matcher(active).match(query.descriptors)
        voters = [owners[m.trainIdx] for m in nearest if m.distance <= cfg.vote_distance]
        votes = np.bincount(np.array(voters, np.int64), minlength=n_entries)
        return votes, cfg.min_votes

    def candidates(
        self, query: LocalFeatures, cfg: MatchConfig, active: bytearray, n_entries: int
    ) -> list[int]:
        """Entry positions worth verifying for these features, best first."""
        owners, descs = self.stack(active)
        if len(descs) == 0 or not len(query):
            return []
        scores, floor = self._scores(query, cfg, active, n_entries)
        order = np.argsort(-scores, kind="stable")[: cfg.max_candidates]
        return [int(i) for i in order if scores[i] >= floor]
