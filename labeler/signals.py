"""The signal summaries that the policy reads.

Each floor-1 package returns its own rich report; `labeler.signal_*` modules
boil those down to these flat, JSON-friendly values so that a policy can be
run (and tested) from a JSON file without any media: `aigc policy explain`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


def _from_dict(cls, data: dict[str, Any] | None):
    if data is None:
        return None
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    values = {}
    for name, value in data.items():
        # tuples keep the dataclasses hashable and comparable after a JSON round trip
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


@dataclass(frozen=True)
class CredentialsSignal:
    """C2PA Content Credentials plus the weaker, unsigned metadata hints."""

    present: bool = False
    # "invalid" | "valid" | "trusted" when a manifest was read, else None
    state: str | None = None
    # ai_generated | ai_edited | possibly_ai | capture | non_ai_creation | unknown
    ai_class: str = "unknown"
    remote_manifest: bool = False
    failure_codes: tuple[str, ...] = ()
    # an ingredient (parent) whose own validation failed
    ingredient_failures: tuple[str, ...] = ()
    signer: str | None = None
    claim_generator: str | None = None
    evidence: tuple[str, ...] = ()
    # unsigned hints (IPTC DigitalSourceType in XMP, generator metadata) and the
    # AI class they imply; never treated as verified
    metadata_hints: tuple[str, ...] = ()
    hint_ai_class: str | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data):
        return _from_dict(cls, data)


@dataclass(frozen=True)
class WatermarkSignal:
    detected: bool = False
    key_id: str | None = None
    owner: str | None = None
    # what the key's owner means by the mark: "ai_generated", "platform", ...
    meaning: str | None = None
    payload_hex: str | None = None
    p_value: float | None = None

    @classmethod
    def from_dict(cls, data):
        return _from_dict(cls, data)


@dataclass(frozen=True)
class MatchSignal:
    matched: bool = False
    entry_id: str | None = None
    category: str | None = None
    severity: str | None = None
    distance: int | None = None
    # which hash matched ("pdq", "pdq_dihedral", "pdq_unboxed", "orb", ...)
    hash_type: str | None = None
    # which stage found it ("hash" or "local_features")
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

    @classmethod
    def from_dict(cls, data):
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Signals:
    credentials: CredentialsSignal | None = None
    watermark: WatermarkSignal | None = None
    match: MatchSignal | None = None
    # signals that could not be computed, with the reason (never silently dropped)
    errors: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signals:
        unknown = set(data) - {"credentials", "watermark", "match", "errors"}
        if unknown:
            raise ValueError(f"Signals: unknown field(s) {sorted(unknown)}")
        return cls(
            credentials=CredentialsSignal.from_dict(data.get("credentials")),
            watermark=WatermarkSignal.from_dict(data.get("watermark")),
            match=MatchSignal.from_dict(data.get("match")),
            errors=tuple(data.get("errors") or ()),
        )
