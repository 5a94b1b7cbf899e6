"""Conditions over facts: the `when:` of a rule and the policy's predicates.

Grammar (YAML):

    watermark.detected                      # shorthand: the fact is true / non-empty
    {fact: credentials.state, in: [valid, trusted]}
    {fact: match.category, equals: known_aigc}
    {fact: context.creator_disclosed_ai, is: false}     # true | false | null
    {fact: context.creator_history, gte: {threshold: repeat_violations}}
    {fact: topics, nonempty: true}
    {fact: credentials.metadata_hints, contains: "IPTC:trainedAlgorithmicMedia"}
    {all: [...]}  {any: [...]}  {not: ...}  {predicate: strong_ai_signal}

Conditions compile once, on load, into small frozen objects; every name is
checked then (facts, predicates, thresholds), so evaluation cannot fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .facts import BOOL, FACTS, LIST, NUMBER, TEXT
from .yamlfile import Document, Path_

COMPARISONS = ("gte", "gt", "lte", "lt")
LEAF_OPS = ("equals", "in", "is", "nonempty", "contains", *COMPARISONS)


class Env:
    """One decision's facts and thresholds, with predicates evaluated at most once."""

    def __init__(self, facts: Mapping[str, Any], thresholds: Mapping[str, float], predicates):
        self.facts = facts
        self.thresholds = thresholds
        self._predicates = predicates
        self._memo: dict[str, bool] = {}

    def predicate(self, name: str) -> bool:
        if name not in self._memo:
            self._memo[name] = self._predicates[name].test(self)
        return self._memo[name]


@dataclass(frozen=True)
class All:
    parts: tuple[Any, ...]

    def test(self, env: Env) -> bool:
        return all(p.test(env) for p in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Any, ...]

    def test(self, env: Env) -> bool:
        return any(p.test(env) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Any

    def test(self, env: Env) -> bool:
        return not self.part.test(env)


@dataclass(frozen=True)
class Predicate:
    name: str

    def test(self, env: Env) -> bool:
        return env.predicate(self.name)


@dataclass(frozen=True)
class Leaf:
    fact: str
    op: str
    value: Any = None
    # name of a policy threshold the value comes from, when it is not literal
    threshold: str | None = None

    def test(self, env: Env) -> bool:
        actual = env.facts[self.fact]
        expected = env.thresholds[self.threshold] if self.threshold else self.value
        if self.op == "truthy":
            return bool(actual)
        if self.op == "is":
            return actual is expected
        if self.op == "equals":
            # True == 1 in Python; in a policy a flag is never a count
            if isinstance(actual, bool) or isinstance(expected, bool):
                return actual is expected
            return actual == expected
        if self.op == "in":
            return actual in expected
        if self.op == "nonempty":
            return bool(actual) == expected
        if self.op == "contains":
            return expected in (actual or ())
        if actual is None or isinstance(actual, bool):
            return False
        if self.op == "gte":
            return actual >= expected
        if self.op == "gt":
            return actual > expected
        if self.op == "lte":
            return actual <= expected
        return actual < expected


def compile_condition(
    doc: Document,
    node: Any,
    path: Path_,
    *,
    predicates: Mapping[str, Any],
    thresholds: Mapping[str, float],
    facts: Mapping[str, Any] = FACTS,
) -> Any:
    """The condition at `path`, every name checked against `facts`, predicates, thresholds."""
    return _Compiler(doc, predicates, thresholds, facts).condition(node, path)


@dataclass(frozen=True)
class _Compiler:
    doc: Document
    predicates: Mapping[str, Any]
    thresholds: Mapping[str, float]
    facts: Mapping[str, Any]

    def condition(self, node: Any, path: Path_) -> Any:
        doc = self.doc
        if isinstance(node, str):
            self.check_fact(node, path)
            return Leaf(node, "truthy")
        if not isinstance(node, dict) or not node:
            raise doc.error(
                path,
                "a condition is a fact name or a mapping with one of "
                "all / any / not / predicate / fact",
            )
        for combinator in ("all", "any"):
            if combinator in node:
                _only(doc, node, path, {combinator})
                items = node[combinator]
                if not isinstance(items, list) or not items:
                    raise doc.error(path + (combinator,), f"'{combinator}' needs a non-empty list")
                parts = tuple(
                    self.condition(v, path + (combinator, i)) for i, v in enumerate(items)
                )
                return All(parts) if combinator == "all" else AnyOf(parts)
        if "not" in node:
            _only(doc, node, path, {"not"})
            return Not(self.condition(node["not"], path + ("not",)))
        if "predicate" in node:
            _only(doc, node, path, {"predicate"})
            name = node["predicate"]
            if name not in self.predicates:
                known = ", ".join(self.predicates) or "none defined above this point"
                raise doc.error(
                    path + ("predicate",), f"unknown predicate {name!r} (known: {known})"
                )
            return Predicate(name)
        if "fact" not in node:
            raise doc.error(
                path,
                f"unknown condition key(s) {sorted(node)}; expected all, any, not, predicate, fact",
            )
        return self.leaf(node, path)

    def leaf(self, node: dict, path: Path_) -> Leaf:
        fact = node["fact"]
        self.check_fact(fact, path + ("fact",))
        ops = set(node) - {"fact"}
        if not ops:
            return Leaf(fact, "truthy")
        if len(ops) > 1 or not ops <= set(LEAF_OPS):
            raise self.doc.error(
                path, f"a fact test takes exactly one of {', '.join(LEAF_OPS)}; got {sorted(ops)}"
            )
        op = ops.pop()
        value, at = node[op], path + (op,)
        if op in COMPARISONS:
            return self.comparison(fact, op, value, at)
        return Leaf(fact, op, self.operand(fact, op, value, at))

    def operand(self, fact: str, op: str, value: Any, at: Path_) -> Any:
        """The checked value of a test that is not a comparison."""
        doc, kind = self.doc, self.facts[fact].kind
        if op == "is" and value not in (True, False, None):
            raise doc.error(at, "'is' takes true, false or null")
        if op == "equals" and isinstance(value, (dict, list)):
            raise doc.error(at, "'equals' takes one plain value; use 'in' for a list")
        if op == "in":
            if not isinstance(value, list) or not value:
                raise doc.error(at, "'in' takes a non-empty list of values")
            if kind == LIST:
                raise doc.error(at, f"{fact} is a list; use 'contains' to test a member")
            return tuple(value)
        if op == "nonempty" and not isinstance(value, bool):
            raise doc.error(at, "'nonempty' takes true or false")
        if op == "contains" and kind != LIST:
            raise doc.error(at, f"'contains' needs a list fact; {fact} is {kind}")
        return value

    def comparison(self, fact: str, op: str, value: Any, at: Path_) -> Leaf:
        doc, kind = self.doc, self.facts[fact].kind
        if kind != NUMBER:
            raise doc.error(at, f"'{op}' needs a number fact; {fact} is {kind}")
        if isinstance(value, dict):
            if set(value) != {"threshold"}:
                raise doc.error(at, f"'{op}' takes a number or {{threshold: NAME}}")
            name = value["threshold"]
            if name not in self.thresholds:
                known = ", ".join(self.thresholds) or "none"
                raise doc.error(at + ("threshold",), f"unknown threshold {name!r} (known: {known})")
            return Leaf(fact, op, None, threshold=name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise doc.error(at, f"'{op}' takes a number or {{threshold: NAME}}")
        return Leaf(fact, op, value)

    def check_fact(self, name: Any, path: Path_) -> None:
        check_fact(self.doc, name, path, self.facts)


def check_fact(doc: Document, name: Any, path: Path_, facts: Mapping[str, Any]) -> None:
    if not isinstance(name, str) or name not in facts:
        close = [f for f in facts if isinstance(name, str) and name.split(".")[0] in f]
        hint = f" (did you mean one of: {', '.join(close[:6])}?)" if close else ""
        raise doc.error(path, f"unknown fact {name!r}{hint}")


def _only(doc: Document, node: dict, path: Path_, allowed: set[str]) -> None:
    extra = set(node) - allowed
    if extra:
        raise doc.error(path, f"unexpected key(s) {sorted(extra)} beside {sorted(allowed)}")


__all__ = ["BOOL", "LIST", "NUMBER", "TEXT", "All", "AnyOf", "Env", "Leaf", "Not", "Predicate"]
