"""The stores the labeler reads, as it needs them; the service implements them.

The labeler never names a table: it declares what it reads (the bank's
current indexes and their version; the manifest repository's renditions)
and whoever runs it hands it an implementation. The service's live in
service/db/bank_source.py and service/db/manifest_source.py, found through
the `aigc_provenance.bank_source` and `aigc_provenance.manifest_repository`
entry points when the engine is built from the environment
(`Engine.from_env`); tests hand over an in-memory `matching.Bank` and
`InMemoryRepository`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import matching

# entry id -> (category, severity) of each video entry
VideoMeta = dict[str, tuple[str, str | None]]


@runtime_checkable
class BankSource(Protocol):
    """The bank of known manipulated media as the match signal reads it."""

    def version(self) -> int:
        """The version of the indexes last handed out; it moves with every bank change."""

    def image_index(self) -> matching.Bank:
        """The current image index (cheap to call per upload; refreshed when the bank moves)."""

    def video_index(self) -> tuple[Any, VideoMeta] | None:
        """The current `matching.video.VideoIndex` and its entries' meta; None: no video bank."""


@runtime_checkable
class ConfirmedEntries(Protocol):
    """A bank source that also knows which entries a person confirmed (optional).

    Kept apart from `BankSource` so a source that cannot tell (an imported
    list, an in-memory bank) is still a source: its matches read as unconfirmed.
    """

    def is_confirmed(self, entry_id: str) -> bool:
        """True when a reviewer's verdict confirmed this entry as misleading."""


@runtime_checkable
class ReviewSource(Protocol):
    """What people decided about earlier uploads, as the policy reads it.

    The service keeps cases and verdicts; the labeler only asks two questions.
    """

    def creator_violations(self, creator_id: str) -> int:
        """Confirmed violations of this creator (verdicts), for `context.creator_history`."""

    def cleared_reasons(self, sha256: str | None, pdq_hex: str | None) -> frozenset[str]:
        """Reason codes a reviewer cleared for this media (the negative bank); empty: none."""


class InMemoryBank:
    """A `matching.Bank` held in memory as a source: no versions, no video entries."""

    def __init__(self, bank: matching.Bank) -> None:
        self.bank = bank

    def version(self) -> int:
        return 0

    def image_index(self) -> matching.Bank:
        return self.bank

    def video_index(self) -> None:
        return None


def as_bank_source(bank: BankSource | matching.Bank | None) -> BankSource | None:
    """A source for `bank`: a source as it is, a bare `matching.Bank` wrapped, None as None."""
    if bank is None or isinstance(bank, BankSource):
        return bank
    if isinstance(bank, matching.Bank):
        return InMemoryBank(bank)
    raise TypeError(f"a bank is a BankSource or a matching.Bank, not {type(bank).__name__}")


@dataclass(frozen=True)
class StoredRendition:
    """What the manifest repository holds of one rendition, as recovery reads it."""

    durable_id: str  # 16 hex digits: the payload of the platform's mark
    manifest_id: str  # the rendition's active manifest label (urn:c2pa:...)
    # the original upload's AI class (its decision's label, else its credentials'
    # class) and who vouched for it (signer or claim generator), None if unknown
    ai_class: str | None
    label: str | None
    origin: str | None
    # the rendition's own fingerprint: recovery checks that the upload is this picture
    pdq: str
    pdq_unboxed: str | None = None
    phash: str | None = None
    features: bytes | None = None  # matching.LocalFeatures.to_blob()
    thumbnail: bytes | None = None  # matching.aligned.thumbnail_blob() of the upload's pixels


@runtime_checkable
class ManifestRepository(Protocol):
    """The platform's manifest repository as the recovery signal reads it."""

    def lookup(self, durable_id: str) -> StoredRendition | None:
        """The rendition whose mark carries `durable_id`, None when there is none."""


@dataclass(frozen=True)
class RemoteCredentials:
    """What a partner's resolver gave back for a mark, once judged (None fields: nothing)."""

    manifest_id: str | None = None
    ai_class: str | None = None
    origin: str | None = None
    # why nothing was recovered (host not allowed, timeout, forged or untrusted store...)
    error: str | None = None


@runtime_checkable
class RemoteResolver(Protocol):
    """A partner's soft-binding resolver, asked about a mark found in the upload."""

    def resolve(
        self, endpoint: str, alg: str, value: str, asset: bytes, mime: str
    ) -> RemoteCredentials:
        """byBinding then manifests/{id} at `endpoint`; the store judged beside `asset`."""


class InMemoryRepository:
    """Renditions held in a dict (tests, and the labeler used alone)."""

    def __init__(self, items: dict[str, StoredRendition] | None = None) -> None:
        self.items = dict(items or {})

    def add(self, item: StoredRendition) -> None:
        self.items[item.durable_id] = item

    def lookup(self, durable_id: str) -> StoredRendition | None:
        return self.items.get(durable_id)


__all__ = [
    "BankSource",
    "ConfirmedEntries",
    "InMemoryBank",
    "InMemoryRepository",
    "ManifestRepository",
    "RemoteCredentials",
    "RemoteResolver",
    "ReviewSource",
    "StoredRendition",
    "VideoMeta",
    "as_bank_source",
]
