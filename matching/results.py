"""What a bank lookup returns: one Match per entry found, and the LookupResult around them."""

from __future__ import annotations

from dataclasses import dataclass

# the kinds of code an entry is indexed under; `Bank.search_codes` reports
# each hit's kind as its position here
HASH_TYPES = ("pdq", "pdq_unboxed")


@dataclass(frozen=True)
class Match:
    entry_id: str
    category: str | None
    severity: str | None
    # PDQ Hamming distance for the hash stage; None for the local-feature stage
    distance: int | None
    # "pdq" | "pdq_dihedral" | "pdq_unboxed" | "orb" | "pdq+phash" (a low-quality
    # query that PDQ and pHash both put on this entry, see MatchConfig)
    hash_type: str
    # "hash" | "local_features"
    stage: str
    # which dihedral variant of the query matched ("original", "rot90", ...)
    variant: str | None = None
    # local features: entry keypoints confirming the transform (RANSAC
    # inliers, or the guided count when that is what accepted the match)
    inliers: int | None = None
    # imagehash pHash distance to the entry, when both have one (second opinion)
    phash_distance: int | None = None


@dataclass(frozen=True)
class LookupResult:
    matches: tuple[Match, ...] = ()
    # above the match radius but within the near radius (weak evidence)
    near: tuple[Match, ...] = ()
    quality: int | None = None
    low_quality: bool = False
    stages: tuple[str, ...] = ()

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def matched(self) -> bool:
        return bool(self.matches)


def rank(m: Match):
    # hash-stage matches first by distance; untransformed before dihedral on ties
    return (
        m.stage != "hash",
        m.distance if m.distance is not None else 999,
        m.variant != "original",
        m.entry_id,
    )
