"""Typed results: frozen dataclasses built from the service's answers.

Each keeps the whole answer in `raw`, so a field the service adds later is
not lost to a client that predates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _known(cls, data: dict[str, Any]) -> dict[str, Any]:
    names = {f for f in cls.__dataclass_fields__ if f != "raw"}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(data["code"], data["message"], dict(data.get("evidence") or {}))


@dataclass(frozen=True)
class Decision:
    action: str
    label: str | None
    label_source: str | None
    distribution: str
    reasons: tuple[Reason, ...]
    policy_version: str
    signals: dict[str, Any]
    media: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            action=data["action"],
            label=data.get("label"),
            label_source=data.get("label_source"),
            distribution=data.get("distribution", "normal"),
            reasons=tuple(Reason.from_dict(r) for r in data.get("reasons", [])),
            policy_version=data["policy_version"],
            signals=dict(data.get("signals") or {}),
            media=dict(data.get("media") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class ScanResult:
    scan_id: str
    elapsed_ms: float
    decision: Decision
    case_id: str | None = None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        return cls(
            data["scan_id"],
            float(data["elapsed_ms"]),
            Decision.from_dict(data["decision"]),
            data.get("case_id"),
            raw=data,
        )


@dataclass(frozen=True)
class LabelCheck:
    """The creator-facing answer: fixed sentences, never bank entries or scores."""

    check_id: str
    action: str
    will_label: bool
    label: str | None
    label_text: str | None
    disclosure_required: bool
    under_review: bool
    headline: str
    why: tuple[str, ...]
    text: str
    removed: bool = False
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelCheck:
        values = _known(cls, data)
        values["why"] = tuple(data.get("why", ()))
        return cls(**values, raw=data)


@dataclass(frozen=True)
class BankEntry:
    id: int
    category: str
    severity: str | None
    note: str | None
    source: str | None
    added_by: str | None
    added_at: str
    active: bool
    pdq: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BankEntry:
        return cls(**_known(cls, data), raw=data)


@dataclass(frozen=True)
class BankPage:
    items: tuple[BankEntry, ...]
    total: int
    page: int
    per_page: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BankPage:
        items = tuple(BankEntry.from_dict(e) for e in data["items"])
        return cls(items, data["total"], data["page"], data["per_page"])


@dataclass(frozen=True)
class ApiKey:
    id: str
    role: str
    hint: str
    note: str | None
    created_at: str
    revoked_at: str | None
    organisation: str | None = None
    creator_id: str | None = None
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    # the secret itself: only in the answer that created the key
    key: str | None = field(default=None, repr=False)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiKey:
        values = _known(cls, data)
        values["topics"] = tuple(data.get("topics") or ())
        values["languages"] = tuple(data.get("languages") or ())
        return cls(**values, raw=data)


FINISHED = ("done", "failed", "interrupted")


@dataclass(frozen=True)
class BatchJob:
    id: str
    status: str
    input: str
    total: int | None
    done: int
    failed: int
    actions: dict[str, int]
    labels: dict[str, int]
    error: str | None = None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchJob:
        values = _known(cls, data)
        values["actions"] = dict(data.get("actions") or {})
        values["labels"] = dict(data.get("labels") or {})
        return cls(**values, raw=data)
