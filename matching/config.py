"""How a bank lookup decides: radii, the low-quality rule, the local-feature stage's thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from .features import Verification

DEFAULT_RADIUS = 31
# the weak-evidence band 32..43 (unrelated photos sit at 78+ per the research
# note); found among the radius-31 candidates, so it costs nothing extra
DEFAULT_NEAR_RADIUS = 43
DEFAULT_MIN_QUALITY = 50


@dataclass(frozen=True)
class MatchConfig:
    radius: int = DEFAULT_RADIUS
    near_radius: int = DEFAULT_NEAR_RADIUS
    min_quality: int = DEFAULT_MIN_QUALITY
    # local-feature stage: the max_candidates entries with the most descriptor
    # votes (at least min_votes; a vote is a query descriptor whose nearest
    # bank descriptor, within vote_distance bits of 256, belongs to the entry)
    # are verified. Candidates are found through "substrings" (matching/
    # votes.py: 16-bit substring tables, cost grows far slower than the bank)
    # or "flann" (the first pass: FLANN LSH, 12 CPU s per lookup at 1,000 media
    # entries; kept as the benchmark's "before").
    min_votes: int = 10
    vote_distance: int = 64
    max_candidates: int = 5
    candidates: str = "substrings"
    # A verified candidate matches with this many RANSAC inliers (entry
    # keypoints, each counted once) on one similarity transform, spread over
    # at least min_spread of the entry's area, or with min_guided keypoints
    # confirming that transform in the guided count (features.verify) spread
    # as widely. Calibrated with `benchmarks/matching_accuracy.py
    # --calibrate` (every side of its 677 queries against every entry it is
    # not a copy of; see matching/README.md): chance reaches 6 inliers and a
    # guided count of 12. Closest true pairs: astronaut cropped to 50% (5 /
    # 13: missed), the 26 px copy of a 102 px image (8 / 19: missed), chelsea
    # cropped to 50% (8 / 21).
    min_inliers: int = 14
    min_guided: int = 20
    min_spread: float = 0.02
    # A query under min_quality (a thumbnail, a nearly flat picture) is not
    # matched on PDQ alone, as PDQ's authors advise: its weak bits flip
    # easily. It still matches an entry when two hash families agree on it:
    # its untransformed PDQ within the radius AND its pHash within this many
    # of 64 bits of the entry's (entries without a pHash, e.g. imported hash
    # lists, never match this way; -1 turns it off). Measured
    # (benchmarks/matching_accuracy.py, matching/README.md): the 26 px copy
    # of a 102 px entry is at PDQ 30 / pHash 0, while 406 low-quality
    # distinct queries (raw, blurred, shrunk to 24 px, darkened) come no
    # closer than PDQ 96 to any entry.
    corroborate_phash: int = 8
    # codes added since the last rebuild are scanned linearly until there are this many
    max_pending: int = 4096

    def __post_init__(self):
        if not 0 <= self.radius <= self.near_radius <= 256:
            raise ValueError("need 0 <= radius <= near_radius <= 256")
        if not 0 <= self.min_quality <= 100:
            raise ValueError("min_quality must be within 0..100")
        if not -1 <= self.corroborate_phash <= 64:
            raise ValueError("corroborate_phash must be within -1..64")
        if self.candidates not in ("substrings", "flann"):
            raise ValueError('candidates must be "substrings" or "flann"')

    def accepts(self, v: Verification) -> bool:
        """Whether a verified candidate is a match (the local-feature stage's rule)."""
        if v.inliers >= self.min_inliers and v.spread >= self.min_spread:
            return True
        return self.min_guided > 0 and (
            v.guided >= self.min_guided and v.guided_spread >= self.min_spread
        )
