"""The one explained answer the product gives for an upload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ACTIONS = ("none", "require_disclosure", "label", "escalate")  # in rising severity
LABELS = ("ai_generated", "ai_edited")


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: str
    label: str | None
    reasons: tuple[Reason, ...]
    policy_version: str
    signals: dict[str, Any]
    # where the label comes from: credentials | watermark | match | creator
    label_source: str | None = None
    distribution: str = "normal"
    media: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
