"""Case tables: signals + context -> expected decision, run against a policy.

A policy change is reviewed like code: its case table says what must still
hold. `aigc policy test` runs one and prints, for each failing case, what was
expected and what came out.

    cases:
      - name: a known deepfake escalates
        signals: {match: {matched: true, category: misleading_deepfake}}
        context: {caption: "..."}            # optional
        expect:
          action: escalate
          label: ai_generated                # null to require no label
          label_source: match
          distribution: reduced
          counts_towards_history: false
          reasons: [bank.match.misleading_deepfake]   # exact codes, in order
          reasons_include: [...]             # these codes, any order
          reasons_exclude: [...]             # none of these codes
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..context import UploadContext
from ..decision import Decision
from ..signals import Signals
from .errors import PolicyError
from .model import Policy
from .yamlfile import Document, read_document

CASE_KEYS = {"name", "signals", "context", "expect"}
SCALAR_EXPECT = ("action", "label", "label_source", "distribution", "counts_towards_history")
LIST_EXPECT = ("reasons", "reasons_include", "reasons_exclude")


@dataclass(frozen=True)
class Case:
    name: str
    signals: Signals
    context: UploadContext
    expect: dict[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class CaseResult:
    case: Case
    decision: Decision
    mismatches: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches


def load_cases(path: str | Path) -> tuple[Case, ...]:
    return cases_from_document(read_document(path))


def cases_from_document(doc: Document) -> tuple[Case, ...]:
    data = doc.data
    if not isinstance(data, dict) or set(data) - {"cases", "description"}:
        raise doc.error((), "a case table is a mapping with 'cases' (and optional 'description')")
    items = data.get("cases")
    if not isinstance(items, list) or not items:
        raise doc.error(("cases",), "cases must be a non-empty list")
    cases = []
    names: set[str] = set()
    for i, node in enumerate(items):
        at = ("cases", i)
        if not isinstance(node, dict):
            raise doc.error(at, "a case is a mapping with name, signals, context and expect")
        extra = set(node) - CASE_KEYS
        if extra:
            raise doc.error(at + (sorted(extra)[0],), f"unknown key(s) {sorted(extra)}")
        for key in ("name", "expect"):
            if key not in node:
                raise doc.error(at, f"missing required key {key!r}")
        name = node["name"]
        if not isinstance(name, str) or not name.strip():
            raise doc.error(at + ("name",), "name must be text")
        if name in names:
            raise doc.error(at + ("name",), f"duplicate case name {name!r}")
        names.add(name)
        try:
            signals = Signals.from_dict(node.get("signals") or {})
        except (TypeError, ValueError, AttributeError) as exc:
            raise doc.error(at + ("signals",), f"bad signals: {exc}") from exc
        try:
            context = UploadContext.from_dict(node.get("context") or {})
        except (TypeError, ValueError, AttributeError) as exc:
            raise doc.error(at + ("context",), f"bad context: {exc}") from exc
        expect = node["expect"]
        if not isinstance(expect, dict) or not expect:
            raise doc.error(at + ("expect",), "expect is a non-empty mapping")
        for key, value in expect.items():
            if key not in SCALAR_EXPECT + LIST_EXPECT:
                allowed = ", ".join(SCALAR_EXPECT + LIST_EXPECT)
                raise doc.error(at + ("expect", key), f"unknown expectation {key!r} ({allowed})")
            if key in LIST_EXPECT and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise doc.error(at + ("expect", key), f"{key} is a list of reason codes")
        cases.append(Case(name.strip(), signals, context, dict(expect), doc.line(at)))
    return tuple(cases)


def run_case(policy: Policy, case: Case) -> CaseResult:
    decision = policy.decide(case.signals, case.context)
    return CaseResult(case, decision, tuple(compare(case.expect, decision)))


def run_cases(policy: Policy, cases: tuple[Case, ...]) -> list[CaseResult]:
    return [run_case(policy, case) for case in cases]


def compare(expect: dict[str, Any], decision: Decision) -> list[str]:
    """Readable differences between an expectation and a decision; empty when it holds."""
    problems = []
    for key in SCALAR_EXPECT:
        if key in expect and getattr(decision, key) != expect[key]:
            problems.append(f"{key}: expected {expect[key]!r}, got {getattr(decision, key)!r}")
    codes = list(decision.reason_codes)
    if "reasons" in expect and codes != expect["reasons"]:
        lines = [f"reasons: expected {expect['reasons']}, got {codes}"]
        lines += [f"    - {c}  (expected, missing)" for c in expect["reasons"] if c not in codes]
        lines += [f"    + {c}  (unexpected)" for c in codes if c not in expect["reasons"]]
        if len(lines) == 1:
            lines.append("    same codes, different order")
        problems.append("\n".join(lines))
    missing = [c for c in expect.get("reasons_include", ()) if c not in codes]
    if missing:
        problems.append(f"reasons_include: missing {missing}; got {codes}")
    present = [c for c in expect.get("reasons_exclude", ()) if c in codes]
    if present:
        problems.append(f"reasons_exclude: present {present}")
    return problems


__all__ = ["Case", "CaseResult", "PolicyError", "compare", "load_cases", "run_case", "run_cases"]
