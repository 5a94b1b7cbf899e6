"""The lookup of one image's hashes in a Bank, stage by stage (see `bank.py`'s docstring).

1. hash stage: PDQ dihedral variants (and those of the picture inside bars)
   through the bank's Hamming index; a low-quality query only through PDQ
   and pHash agreeing on an entry;
2. local-feature stage, only when the hash stage found nothing: descriptor
   votes pick candidates (`candidates.py`), RANSAC and a guided count
   confirm them (`features.verify`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import MatchConfig
from .features import LocalFeatures, verify
from .hashing import DIHEDRAL_NAMES, Hashes
from .results import HASH_TYPES, LookupResult, Match, rank

if TYPE_CHECKING:
    from .bank import Bank


def lookup(bank: Bank, hashes: Hashes) -> LookupResult:
    cfg = bank.config
    quality_ok = hashes.quality >= cfg.min_quality
    queries = _queries(hashes, cfg, quality_ok)
    stages: list[str] = []
    best: dict[int, Match] = {}
    near: dict[int, Match] = {}
    if queries:
        stages.append("hash")
        best, near = _hash_stage(bank, hashes, queries)
    if not quality_ok and hashes.phash is not None and cfg.corroborate_phash >= 0:
        if "hash" not in stages:
            stages.append("hash")
        _corroborate(bank, hashes, best)
    if best:
        near = {}
    sides = (hashes.features, hashes.features_mirrored)
    if not best and bank.wants_features and any(f is not None and len(f) for f in sides):
        stages.append("local_features")
        best = dict(local_features(bank, *sides, hashes.phash))
    matches = sorted(best.values(), key=rank)
    return LookupResult(
        matches=tuple(matches),
        near=tuple(sorted(near.values(), key=lambda m: (m.distance, m.entry_id))),
        quality=hashes.quality,
        low_quality=not quality_ok,
        stages=tuple(stages),
    )


def _queries(hashes: Hashes, cfg: MatchConfig, quality_ok: bool) -> list[tuple[bytes, str, str]]:
    """(code, query kind, variant) of every PDQ code the hash stage searches."""
    queries: list[tuple[bytes, str, str]] = []
    if quality_ok:
        queries += [
            (c, "full", v) for c, v in zip(hashes.pdq_dihedral, DIHEDRAL_NAMES, strict=True)
        ]
    unboxed_ok = hashes.pdq_unboxed is not None and (hashes.unboxed_quality or 0) >= cfg.min_quality
    if unboxed_ok:
        queries += [
            (c, "unboxed", v)
            for c, v in zip(hashes.pdq_unboxed_dihedral, DIHEDRAL_NAMES, strict=True)
        ]
    return queries


def _hash_stage(
    bank: Bank, hashes: Hashes, queries: list[tuple[bytes, str, str]]
) -> tuple[dict[int, Match], dict[int, Match]]:
    """Per entry its best match within the radius, and its best in the near band."""
    cfg = bank.config
    best: dict[int, Match] = {}
    near: dict[int, Match] = {}
    # one search: matches within the radius (exact), and the near band
    # from the same candidates (free, best effort; a separate exact
    # search at 43 bits cost 15 ms per hash at 10^6 entries, measured)
    found = bank.search_codes([q[0] for q in queries], cfg.radius, cfg.near_radius)
    for (_, kind, variant), hits in zip(queries, found, strict=True):
        for idx, t, d in hits:
            hash_type = _hash_type(kind, HASH_TYPES[t], variant)
            m = bank.match_at(idx, d, hash_type, variant, hashes.phash)
            pool = best if d <= cfg.radius else near
            if idx not in pool or rank(m) < rank(pool[idx]):
                pool[idx] = m
    return best, near


def _corroborate(bank: Bank, hashes: Hashes, best: dict[int, Match]) -> None:
    """A low-quality query's entries that its plain PDQ and its pHash both reach (into best)."""
    cfg = bank.config
    for idx, _, d in bank.search_codes([hashes.pdq], cfg.radius)[0]:
        ph = bank.phash_distance(idx, hashes.phash)
        if ph is not None and ph <= cfg.corroborate_phash:
            m = bank.match_at(idx, d, "pdq+phash", "original", hashes.phash)
            if idx not in best or rank(m) < rank(best[idx]):
                best[idx] = m


def local_features(
    bank: Bank, plain: LocalFeatures | None, mirrored: LocalFeatures | None, phash
) -> list[tuple[int, Match]]:
    """The local-feature stage: the plain side's verified candidates, else the mirrored side's.

    Both sides' candidates come from one vote pass (`Bank.candidates_each`):
    on the common path (nothing banked) both are needed, and one pass costs
    less than two; when the plain side matches, the mirrored side's votes
    were found for nothing (~3 ms at 10^4 media, on a matching upload).
    """
    sides = [
        (feats, variant)
        for feats, variant in ((plain, "original"), (mirrored, "mirror"))
        if feats is not None and len(feats)
    ]
    picks = bank.candidates_each([feats for feats, _ in sides])
    for (feats, variant), candidates in zip(sides, picks, strict=True):
        found = _accepted(bank, feats, candidates, phash, variant)
        if found:
            return found
    return []


def _accepted(bank: Bank, query: LocalFeatures, candidates, phash, variant: str):
    """The candidates verification accepts, as matches."""
    cfg = bank.config
    out = []
    for idx in candidates:
        v = verify(query, bank.entry_features(idx))
        if cfg.accepts(v):
            # the count that accepted it: RANSAC inliers, else the guided count
            by_ransac = v.inliers >= cfg.min_inliers and v.spread >= cfg.min_spread
            count = v.inliers if by_ransac else v.guided
            m = bank.match_at(idx, None, "orb", variant, phash, "local_features", count)
            out.append((int(idx), m))
    return out


def _hash_type(kind: str, entry_type: str, variant: str) -> str:
    if kind == "unboxed" or entry_type == "pdq_unboxed":
        return "pdq_unboxed"
    return "pdq" if variant == "original" else "pdq_dihedral"
