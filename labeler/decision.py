"""The one explained answer the product gives for an upload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# in rising severity; `remove` is for re-uploads of media a person confirmed as misleading
ACTIONS = ("none", "require_disclosure", "label", "escalate", "remove")
LABELS = ("ai_generated", "ai_edited")
DISTRIBUTIONS = ("normal", "reduced")


def severity(action: str) -> int:
    """Rank of an action; remove > escalate > label > require_disclosure > none."""
    return ACTIONS.index(action)


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    # the policy rule that produced this reason and the action that rule asked for;
    # lets an analyst see which rows fired even when a stronger one decided
    rule: str | None = None
    action: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(
            code=data["code"],
            message=data.get("message", ""),
            evidence=dict(data.get("evidence") or {}),
            rule=data.get("rule"),
            action=data.get("action"),
        )


@dataclass(frozen=True)
class Decision:
    action: str
    label: str | None
    reasons: tuple[Reason, ...]
    policy_version: str
    signals: dict[str, Any]
    # where the label comes from: a signal's name (credentials, watermark, match, ...) or creator
    label_source: str | None = None
    distribution: str = "normal"
    media: dict[str, Any] = field(default_factory=dict)
    # the upload breaks the rules in a way that counts as a violation once a
    # person confirms it (e.g. the creator said "no AI" against strong evidence)
    counts_towards_history: bool = False
    # what a person is shown beside the label: icon, short text per language,
    # first exposure, source in plain words (labeler.policy.display); None: no label
    display: dict[str, Any] | None = None

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Rebuild a stored decision (audit rows, JSON files) for explanation."""
        return cls(
            action=data["action"],
            label=data.get("label"),
            reasons=tuple(Reason.from_dict(r) for r in data.get("reasons") or ()),
            policy_version=data.get("policy_version", ""),
            signals=dict(data.get("signals") or {}),
            label_source=data.get("label_source"),
            distribution=data.get("distribution", "normal"),
            media=dict(data.get("media") or {}),
            counts_towards_history=bool(data.get("counts_towards_history", False)),
            display=data.get("display"),
        )
