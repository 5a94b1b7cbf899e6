"""The match signal: the upload against the bank of known manipulated media.

The bank is a store (labeler/stores.py): the service keeps it in its
database and hands the engine a `BankSource`, whose indexes are rebuilt in
each worker when the bank's version moves. The signal's work is split in
two so that hashing (native code on the uploader's pixels) can run in an
analysis process while the lookup runs where the index lives: `shape`
(what the upload's side must know of the bank), `prepare` (hash, no bank)
and `resolve` (look up). Videos go through `video.py` (vPDQ fingerprints,
local features on the entries' keyframes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import matching

from ...media import Media
from ...stores import BankSource, ConfirmedEntries, as_bank_source
from ..base import BOOL, NUMBER, TEXT, SignalFact, SignalValue


@dataclass(frozen=True)
class MatchSignal(SignalValue):
    matched: bool = False
    entry_id: str | None = None
    category: str | None = None
    severity: str | None = None
    distance: int | None = None
    # which hash matched ("pdq", "pdq_dihedral", "pdq_unboxed", "orb", "vpdq", ...)
    hash_type: str | None = None
    # which stage found it ("hash" or "local_features"; "video" for a video
    # entry, by vPDQ or, hash_type "orb", by its keyframes)
    stage: str | None = None
    # closest entry lies above the match radius but within the near radius
    near_match: bool = False
    # the upload is too flat or plain (PDQ quality < minimum) to be matched by hash
    low_quality: bool = False
    # videos (hash_type "vpdq"): share of the upload found in the entry (a clip
    # cut out of it) and share of the entry found in the upload (it contains it)
    query_contained: float | None = None
    reference_contained: float | None = None
    # PDQ of the upload (its first frame) as 64 hex digits when the match
    # signal hashed it, so the service's audit row need not hash it again
    query_pdq: str | None = None
    # a person (a reviewer's verdict) confirmed the matched entry; imported and
    # hand-added entries are unconfirmed until someone reviews them
    confirmed: bool = False


FACTS = (
    SignalFact("matched", BOOL, "a bank entry lies within the radius"),
    SignalFact("entry_id", TEXT, "the matched bank entry"),
    SignalFact("category", TEXT, "the matched entry's category"),
    SignalFact("severity", TEXT, "the matched entry's severity"),
    SignalFact("distance", NUMBER, "hash distance to the entry"),
    SignalFact("hash_type", TEXT, "which hash matched"),
    SignalFact("stage", TEXT, "hash | local_features | video"),
    SignalFact("near_match", BOOL, "closest entry is just outside the radius"),
    SignalFact("low_quality", BOOL, "upload too plain to match by hash"),
    SignalFact("query_contained", NUMBER, "video: share of upload in entry"),
    SignalFact("reference_contained", NUMBER, "video: share of entry in upload"),
    SignalFact("query_pdq", TEXT, "the upload's PDQ, 64 hex digits"),
    SignalFact("confirmed", BOOL, "a person confirmed the matched entry"),
)


@dataclass(frozen=True)
class BankShape:
    """What the upload's side of a lookup must know of the bank: which hashes to compute.

    It lets the hashing run where the bank is not (an analysis process) while
    the lookup runs where the bank index lives, loaded once per worker.
    """

    # active entries of the upload's kind; none: nothing to hash
    entries: int = 0
    # some entry carries local features, so the query brings its own (second stage)
    features: bool = False


@dataclass(frozen=True)
class MatchQuery:
    """The upload's side of a bank lookup, computed from its pixels alone."""

    kind: str
    shape: BankShape
    hashes: matching.Hashes | None = None
    # videos: the sampled frames' fingerprint and a few frames' local features
    video: Any = None

    @property
    def pdq_hex(self) -> str | None:
        """The first frame's plain PDQ when it was hashed (the audit row reuses it)."""
        return self.hashes.pdq_hex if self.hashes is not None else None


class Match:
    """The upload's hashes against a bank; no bank: not computed."""

    name = "match"
    value_type = MatchSignal
    facts = FACTS
    source_text = "a match with media we already know about"

    def __init__(self, bank: BankSource | matching.Bank | None = None) -> None:
        self.bank = as_bank_source(bank)

    def without_store(self) -> Match:
        return Match(None)

    def gather(self, media: Media) -> MatchSignal | None:
        return self.resolve(self.prepare(media, self.shape(media.kind)))

    def shape(self, kind: str) -> BankShape | None:
        """The bank's shape for an upload of `kind`; None when no bank is configured."""
        if self.bank is None:
            return None
        if kind == "video":
            found = self.bank.video_index()
            if found is None:
                return None
            return BankShape(entries=len(found[0]), features=found[0].wants_features)
        bank = self.bank.image_index()
        return BankShape(entries=len(bank), features=bank.wants_features if len(bank) else False)

    def prepare(self, media: Media, shape: BankShape | None) -> MatchQuery | None:
        """Hash the upload for a bank of this shape (no bank access; safe in any process)."""
        if shape is None or not media.frames or media.kind not in ("image", "video"):
            return None
        if not shape.entries:
            return MatchQuery(media.kind, shape)
        if media.kind == "video":
            from . import video  # imported here: it pulls in PyAV

            return MatchQuery(media.kind, shape, video=video.prepare(media, shape.features))
        wants = shape.features
        hashes = matching.compute_hashes(
            media.frames[0], features=wants, mirrored_features=wants, for_query=True
        )
        return MatchQuery(media.kind, shape, hashes=hashes)

    def resolve(self, query: MatchQuery | None) -> MatchSignal | None:
        """The lookup of a prepared query in the bank (where the bank index lives)."""
        found = self._lookup(query)
        confirmable = found is not None and found.matched
        if confirmable and isinstance(self.bank, ConfirmedEntries):
            return replace(found, confirmed=self.bank.is_confirmed(str(found.entry_id)))
        return found

    def _lookup(self, query: MatchQuery | None) -> MatchSignal | None:
        if query is None or self.bank is None:
            return None
        if not query.shape.entries:
            return MatchSignal()
        if query.kind == "video":
            from . import video

            found = self.bank.video_index()
            return None if found is None else video.resolve(query.video, *found)
        hashes = query.hashes
        return to_signal(self.bank.image_index().lookup(hashes), query_pdq=hashes.pdq_hex)


def to_signal(result: matching.LookupResult, query_pdq: str | None = None) -> MatchSignal:
    """The flat summary the policy reads: the best match, else the nearest near match."""
    hit = result.best or (result.near[0] if result.near else None)
    if hit is not None:
        return MatchSignal(
            matched=result.best is not None,
            entry_id=hit.entry_id,
            category=hit.category,
            severity=hit.severity,
            distance=hit.distance,
            hash_type=hit.hash_type,
            stage=hit.stage,
            near_match=result.best is None,
            low_quality=result.low_quality,
            query_pdq=query_pdq,
        )
    return MatchSignal(low_quality=result.low_quality, query_pdq=query_pdq)


__all__ = ["BankShape", "Match", "MatchQuery", "MatchSignal", "to_signal"]
