"""The recovery signal: credentials of an earlier upload, found again through the platform's mark.

A rendition the platform serves carries its mark, whose payload is a random
64-bit durable id, and the manifest repository keeps what the platform knew
of the original under that id. When a re-share arrives without its metadata,
the mark still names the record; this signal reads it back.

Two halves, like the match signal. `prepare` (anywhere, no store) reads the
platform key's detection that the watermark signal already made on this
upload (`watermark.detections`: no second pass over the pixels) and, only
when the mark is there, hashes the upload. `resolve` (in the worker) looks
the id up in the repository and checks the fingerprint: the upload must be
the picture the record was made for (PDQ within the match radius, the
local-feature stage for crops, or, for a crop with too few keypoints of its
own, the upload brought into the stored thumbnail's frame by the geometry the
mark's synchronization measured, `matching.aligned`). A mark lifted off a rendition and added to
other content names a record whose fingerprint it does not have, so it
recovers nothing and says so (`mismatch`).

A partner's mark whose registry entry names a `resolver` is resolved there
instead (`RemoteResolver`, implemented by the service with its outbound
guards) when the upload carries no manifest of its own: the store that comes
back must be trusted and its soft binding must name the value found.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace

import numpy as np

import matching
from matching import aligned

from ..media import Media
from ..stores import ManifestRepository, RemoteResolver, StoredRendition
from .base import BOOL, TEXT, SignalFact, SignalValue
from .credentials import VERIFIED_STATES
from .watermark import RegisteredKey, detections

CREDENTIALS_MEMO = "credentials.value"
AI_CLASSES = ("ai_generated", "ai_edited")


@dataclass(frozen=True)
class RecoveredSignal(SignalValue):
    # the platform's mark was detected and its payload read
    mark_found: bool = False
    durable_id: str | None = None
    # the repository holds a record for that id
    record_found: bool = False
    # the record's fingerprint matches the upload: its credentials are recovered
    recovered: bool = False
    # a record was found but the upload is not its picture (a copied mark)
    mismatch: bool = False
    # the original's AI class and label, and who vouched for them
    ai_class: str | None = None
    label: str | None = None
    origin: str | None = None
    manifest_id: str | None = None
    # how the fingerprint matched: "hash", "local_features" or "aligned"
    fingerprint: str | None = None
    # the upload's own embedded class, when it has verified credentials
    embedded_ai_class: str | None = None
    # the upload's verified embedded credentials claim a different AI class
    disagrees: bool = False
    # whose mark it was: the platform's key id, or a partner's resolved remotely
    via: str | None = None
    # why a partner's resolver gave nothing (not allowed, timed out, forged...)
    remote_error: str | None = None


def _recovered_ai(value: RecoveredSignal) -> bool:
    return value.recovered and value.ai_class in AI_CLASSES


FACTS = (
    SignalFact("mark_found", BOOL, "the platform's mark was detected"),
    SignalFact("durable_id", TEXT, "the mark's durable id, 16 hex digits"),
    SignalFact("record_found", BOOL, "the repository holds that id"),
    SignalFact("recovered", BOOL, "the record matches the upload's fingerprint"),
    SignalFact("recovered_ai", BOOL, "recovered, and the original was AI", _recovered_ai),
    SignalFact("mismatch", BOOL, "a record was found for another picture"),
    SignalFact("ai_class", TEXT, "the original's AI class"),
    SignalFact("label", TEXT, "the original's label"),
    SignalFact("origin", TEXT, "who vouched for the original's class"),
    SignalFact("manifest_id", TEXT, "the rendition's manifest in the repository"),
    SignalFact("fingerprint", TEXT, "hash | local_features | aligned"),
    SignalFact("embedded_ai_class", TEXT, "the upload's own verified class"),
    SignalFact("disagrees", BOOL, "embedded and recovered classes differ"),
    SignalFact("via", TEXT, "whose mark: the platform key or a partner"),
    SignalFact("remote_error", TEXT, "why a partner's resolver gave nothing"),
)


@dataclass(frozen=True)
class RecoveryQuery:
    """The upload's side of a recovery, computed from its pixels alone."""

    durable_id: str | None = None
    hashes: matching.Hashes | None = None
    embedded_ai_class: str | None = None
    # a partner's mark to resolve remotely: (key id, endpoint, alg, base64 value)
    remote: tuple[str, str, str, str] | None = None
    asset: bytes | None = None
    mime: str | None = None
    # the upload in the stored thumbnail's frame (scale, turn and mirror undone)
    view: np.ndarray | None = field(default=None, repr=False)


class Recovered:
    """The platform mark -> the manifest repository -> a fingerprint check."""

    name = "recovered"
    value_type = RecoveredSignal
    facts = FACTS
    source_text = "Content Credentials of an earlier upload, found through our watermark"

    def __init__(
        self,
        platform: RegisteredKey | None = None,
        repository: ManifestRepository | None = None,
        config: matching.MatchConfig | None = None,
        partners: tuple[RegisteredKey, ...] = (),
        remote: RemoteResolver | None = None,
    ) -> None:
        self.platform = platform
        self.repository = repository
        self.config = config or matching.MatchConfig()
        # registered keys whose owners run a resolver
        self.partners = tuple(k for k in partners if k.resolver)
        self.remote = remote

    def without_store(self) -> Recovered:
        return Recovered(self.platform, None, self.config, self.partners, None)

    def gather(self, media: Media) -> RecoveredSignal | None:
        return self.resolve(self.prepare(media, self.shape(media.kind)))

    def shape(self, kind: str) -> bool | None:
        # renditions are images; without a key of ours or a partner's there is nothing to look for
        marks = self.platform is not None or bool(self.partners)
        return True if marks and kind == "image" else None

    def prepare(self, media: Media, shape: bool | None) -> RecoveryQuery | None:
        if not shape or media.kind != "image" or not media.frames:
            return None
        detection = self._detected(media, self.platform)
        if detection is None:
            return self._partner_query(media)
        # hashed only when the mark is there: a scan without one pays nothing here
        frame = media.frames[0]
        hashes = matching.compute_hashes(
            frame, features=True, mirrored_features=True, for_query=True
        )
        embedded = media.memo.get(CREDENTIALS_MEMO)
        verified = embedded is not None and embedded.present and embedded.state in VERIFIED_STATES
        return RecoveryQuery(
            durable_id=detection.payload.hex(),
            hashes=hashes,
            embedded_ai_class=embedded.ai_class if verified else None,
            view=_view(frame, detection),
        )

    @staticmethod
    def _detected(media: Media, key: RegisteredKey | None):
        """The key's detection with a payload (from the memo), None when there is none."""
        if key is None:
            return None
        found = detections(media, [key.key])
        detection = found[0] if found else None
        if detection is None or not detection.detected or detection.payload is None:
            return None
        return detection

    def _partner_query(self, media: Media) -> RecoveryQuery:
        embedded = media.memo.get(CREDENTIALS_MEMO)
        if embedded is not None and embedded.present:
            return RecoveryQuery()  # the file speaks for itself: nothing to ask a partner
        for partner in self.partners:
            detection = self._detected(media, partner)
            if detection is not None:
                value = base64.b64encode(detection.payload).decode("ascii")
                alg = partner.resolver_alg or "org.aigc-provenance.keyed-tile.1"
                return RecoveryQuery(
                    durable_id=detection.payload.hex(),
                    remote=(partner.key_id, partner.resolver, alg, value),
                    asset=media.data,
                    mime=media.mime,
                )
        return RecoveryQuery()

    def resolve(self, query: RecoveryQuery | None) -> RecoveredSignal | None:
        if query is None:
            return None
        if query.durable_id is None:
            return RecoveredSignal()
        if query.remote is not None:
            return self._resolve_remote(query)
        via = self.platform.key_id if self.platform is not None else None
        seen = RecoveredSignal(mark_found=True, durable_id=query.durable_id, via=via)
        if self.repository is None:
            return seen
        record = self.repository.lookup(query.durable_id)
        if record is None:
            return seen
        stage = fingerprint_match(record, query.hashes, self.config, query.view)
        if stage is None:
            return replace(seen, record_found=True, mismatch=True, manifest_id=record.manifest_id)
        embedded = query.embedded_ai_class
        return replace(
            seen,
            record_found=True,
            recovered=True,
            ai_class=record.ai_class,
            label=record.label,
            origin=record.origin,
            manifest_id=record.manifest_id,
            fingerprint=stage,
            embedded_ai_class=embedded,
            disagrees=embedded is not None and embedded != record.ai_class,
        )

    def _resolve_remote(self, query: RecoveryQuery) -> RecoveredSignal:
        key_id, endpoint, alg, value = query.remote
        seen = RecoveredSignal(mark_found=True, durable_id=query.durable_id, via=key_id)
        if self.remote is None:
            return replace(seen, remote_error="no resolver client is configured")
        found = self.remote.resolve(endpoint, alg, value, query.asset, query.mime)
        if found.error is not None or found.manifest_id is None:
            return replace(seen, remote_error=found.error or "no match")
        return replace(
            seen,
            record_found=True,
            recovered=True,
            ai_class=found.ai_class,
            label=found.ai_class if found.ai_class in AI_CLASSES else None,
            origin=found.origin,
            manifest_id=found.manifest_id,
        )


def _view(frame: np.ndarray, detection) -> np.ndarray | None:
    """The frame in the thumbnail's frame, from the geometry the mark's synchronization found."""
    if not detection.scale:
        return None
    # the mark's scale is relative to the frame's long side, the thumbnail's to the picture's
    factor = aligned.THUMB_SIDE * detection.scale / max(frame.shape[:2])
    return aligned.aligned_view(frame, factor, detection.rotation or 0.0, bool(detection.flipped))


def fingerprint_match(
    record: StoredRendition,
    hashes: matching.Hashes | None,
    config: matching.MatchConfig,
    view: np.ndarray | None = None,
) -> str | None:
    """The stage at which the upload matches the record's picture, None when it does not.

    A one-entry bank: the same radii, quality rule and local-feature
    verification as the bank of known media, so a crop or a rotation of the
    rendition still matches and another picture does not. When those miss and
    the mark's geometry brought the upload into the thumbnail's frame (`view`),
    the aligned correlation decides ("aligned").
    """
    if hashes is None:
        return None
    bank = matching.Bank(config)
    features = matching.LocalFeatures.from_blob(record.features) if record.features else None
    bank.add(
        record.durable_id,
        pdq=record.pdq,
        pdq_unboxed=record.pdq_unboxed,
        phash=record.phash,
        features=features,
    )
    best = bank.lookup(hashes).best
    if best is not None:
        return best.stage
    if view is not None and record.thumbnail:
        thumb = aligned.thumbnail_from_blob(record.thumbnail)
        if thumb is not None and aligned.aligned_similarity(view, thumb) >= aligned.MIN_CORRELATION:
            return "aligned"
    return None


__all__ = ["Recovered", "RecoveredSignal", "RecoveryQuery", "fingerprint_match"]
