"""A loaded policy and how it decides: every rule whose condition holds fires,
the most severe action wins, and the reasons keep every rule that fired.

Firing all rules (rather than stopping at the first) is what makes the
decision monotone: more evidence can only add fired rules, so it can never
lower the action. Precedence therefore lives in one place (the action's
severity: remove > escalate > label > require_disclosure > none) instead of in the
order someone happened to write the rules in; rule order only breaks ties
(which label wins among rules of equal severity, the order of reasons).
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..context import UploadContext
from ..decision import Decision, Reason, severity
from ..signals import Signals
from . import terms
from .conditions import Env
from .display import DisplayConfig, display_block
from .errors import PolicyError
from .facts import FACTS, Fact, Facts, make_inputs

INHERIT = "inherit"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass(frozen=True)
class Template:
    """`Matches a bank entry of category {match.category}.`; names checked on load."""

    text: str
    names: tuple[str, ...]
    # reason codes are identifiers: substituted values are reduced to [a-z0-9_]
    as_code: bool = False

    def render(self, values: Mapping[str, Any]) -> str:
        def one(m: re.Match[str]) -> str:
            value = values[m.group(1)]  # names were checked on load
            if self.as_code:
                return terms.topic_key(_plain(value)) or "unknown"
            return _plain(value)

        return _PLACEHOLDER.sub(one, self.text)


def _plain(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) if value else "none"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Rule:
    id: str
    index: int
    when: Any
    action: str
    # a label, None, or "inherit": take the label of the strongest rule that names one
    label: str | None
    label_source: str | None
    distribution: str
    counts_towards_history: bool
    code: Template
    message: Template
    evidence: tuple[str, ...]
    for_each: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Fired:
    rule: Rule
    item: Any
    reason: Reason


CLEARED_CODE = "review.cleared"
# the note's stand-in rule: it asks for nothing, so it never changes the outcome
_CLEARED_RULE = Rule(
    id="review.cleared",
    index=1 << 30,
    when=None,
    action="none",
    label=None,
    label_source=None,
    distribution="normal",
    counts_towards_history=False,
    code=Template(CLEARED_CODE, ()),
    message=Template("", ()),
    evidence=(),
)


def _drop_cleared(fired: list[Fired], cleared: frozenset[str]) -> list[Fired]:
    """Escalations a reviewer already cleared for this media give way; a note says so."""
    kept = [f for f in fired if not (f.rule.action == "escalate" and f.reason.code in cleared)]
    dropped = sorted({f.reason.code for f in fired} - {f.reason.code for f in kept})
    if not dropped:
        return fired
    note = Reason(
        code=CLEARED_CODE,
        message=f"A reviewer cleared this media for: {', '.join(dropped)}.",
        evidence={"cleared": dropped},
        rule=None,
        action="none",
    )
    return [*kept, Fired(_CLEARED_RULE, None, note)]


@dataclass(frozen=True)
class Policy:
    version: str
    rules: tuple[Rule, ...]
    predicates: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    # bank category -> action; categories not listed get unknown_bank_category
    bank_categories: dict[str, str] = field(default_factory=dict)
    unknown_bank_category: str | None = None
    topics: tuple[terms.Topic, ...] = ()
    default_code: str = "no_signal"
    default_message: str = "No AI signal was found."
    # label used when a labeling rule inherits but no fired rule names a label
    default_label: str = "ai_generated"
    description: str = ""
    display: DisplayConfig = field(default_factory=DisplayConfig)
    source: str = "<memory>"
    # sha256 of the policy file, so an audit can tell two edits of one version apart
    digest: str = ""
    # the facts it was checked against (labeler.policy.facts.fact_table of the
    # engine's signals) and those signals' value types, by name
    fact_table: dict[str, Fact] = field(default_factory=lambda: FACTS, repr=False)
    value_types: dict[str, type] | None = field(default=None, repr=False)

    def decide(
        self,
        signals: Signals,
        context: UploadContext | dict | None = None,
        media: dict | None = None,
        cleared: frozenset[str] = frozenset(),
    ) -> Decision:
        """`cleared`: reason codes a reviewer cleared for this media; their
        escalations do not fire again (the other rules still do)."""
        if not isinstance(signals, Signals):
            raise PolicyError(f"signals must be Signals, not {type(signals).__name__}")
        if not isinstance(context, UploadContext):
            try:
                context = UploadContext.from_dict(context)
            except (TypeError, ValueError) as exc:
                raise PolicyError(f"bad upload context: {exc}") from exc
        facts = self.facts(signals, context)
        fired = self.fire(facts)
        if cleared:
            fired = _drop_cleared(fired, cleared)
        return self._compose(fired, signals, media)

    def facts(self, signals: Signals, context: UploadContext) -> dict[str, Any]:
        match = signals.get("match")
        category_action = None
        if match is not None and match.matched:
            category_action = self.bank_categories.get(
                match.category or "", self.unknown_bank_category
            )

        def find_topics():
            return terms.detect(
                self.topics, context.caption, context.hashtags, context.sensitive_topics
            )

        extra = {"match.category_action": category_action}
        inputs = make_inputs(signals, context, extra, find_topics, self.value_types)
        return Facts(inputs, self.fact_table)

    def fire(self, facts: dict[str, Any]) -> list[Fired]:
        env = Env(facts, self.thresholds, self.predicates)
        shown = {f"thresholds.{k}": v for k, v in self.thresholds.items()}
        fired: list[Fired] = []
        for rule in self.rules:
            if not rule.when.test(env):
                continue
            items = sorted(set(facts[rule.for_each])) if rule.for_each else [None]
            for item in items:
                local = ChainMap({"item": item}, shown, facts)
                evidence = {name: _jsonable(facts[name]) for name in rule.evidence}
                if rule.for_each:
                    evidence = {"item": item, **evidence}
                reason = Reason(
                    code=rule.code.render(local),
                    message=rule.message.render(local),
                    evidence=evidence,
                    rule=rule.id,
                    action=rule.action,
                )
                fired.append(Fired(rule, item, reason))
        fired.sort(key=lambda f: (-severity(f.rule.action), f.rule.index))
        return fired

    def _compose(self, fired: list[Fired], signals: Signals, media: dict | None) -> Decision:
        if not fired:
            return Decision(
                action="none",
                label=None,
                reasons=(
                    Reason(self.default_code, self.default_message, rule=None, action="none"),
                ),
                policy_version=self.version,
                signals=signals.to_dict(),
                media=dict(media or {}),
            )
        action = fired[0].rule.action
        label = source = None
        if severity(action) >= severity("label"):
            labelling = [f.rule for f in fired if severity(f.rule.action) >= severity("label")]
            named = [r for r in labelling if r.label not in (None, INHERIT)]
            if named:
                label, source = named[0].label, named[0].label_source
            elif any(r.label == INHERIT for r in labelling):
                label = self.default_label
        return Decision(
            action=action,
            label=label,
            label_source=source if label else None,
            distribution="reduced"
            if any(f.rule.distribution == "reduced" for f in fired)
            else "normal",
            reasons=tuple(f.reason for f in fired),
            policy_version=self.version,
            signals=signals.to_dict(),
            media=dict(media or {}),
            counts_towards_history=any(f.rule.counts_towards_history for f in fired),
            display=display_block(self.display, label, source if label else None, signals),
        )
