"""The named facts a policy's conditions and messages can refer to.

Facts flatten the signal values and the upload context into one namespace
(`credentials.state`, `match.category_action`, `topics`, ...). Each signal
offers its own (`Signal.facts`); the context's and the policy's are here.
`fact_table(signals)` is the whole vocabulary of a policy loaded over those
signals: a policy that names anything else is rejected on load, so a typo
cannot silently turn a rule off. A missing signal reads as its empty value
(nothing detected), never as an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..context import UploadContext
from ..signals import BOOL, BUILTIN_SIGNALS, LIST, NUMBER, TEXT, Signal, SignalFact, Signals

__all__ = ["BOOL", "LIST", "NUMBER", "TEXT", "Fact", "Facts", "fact_table", "make_inputs"]


@dataclass(frozen=True)
class Inputs:
    """What a fact is computed from; `extra` holds what the policy derived."""

    # each signal's value by name, its empty value when it was not computed
    values: dict[str, Any]
    context: UploadContext
    signals: Signals
    extra: dict[str, Any]
    # (topic names, where found); called at most once, and only if a rule asks
    find_topics: Callable[[], tuple[tuple[str, ...], tuple[str, ...]]] = lambda: ((), ())


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str
    get: Callable[[Inputs], Any]
    doc: str


# Fact getters are plain functions and small frozen objects, never lambdas: a
# policy travels to the service's analysis processes with the engine (pickled).


@dataclass(frozen=True)
class _SignalReader:
    signal: str
    fact: SignalFact

    def __call__(self, inputs: Inputs) -> Any:
        return self.fact.read(inputs.values[self.signal])


@dataclass(frozen=True)
class _Missing:
    names: tuple[str, ...]

    def __call__(self, inputs: Inputs) -> tuple[str, ...]:
        return tuple(n for n in self.names if inputs.signals.get(n) is None)


def _topics(inputs: Inputs) -> tuple[str, ...]:
    return inputs.find_topics()[0]


def _topics_found(inputs: Inputs) -> tuple[str, ...]:
    return inputs.find_topics()[1]


def _category_action(inputs: Inputs) -> str | None:
    return inputs.extra.get("match.category_action")


def _signal_fact(signal: str, fact: SignalFact) -> Fact:
    return Fact(f"{signal}.{fact.field}", fact.kind, _SignalReader(signal, fact), doc=fact.doc)


def _context(name: str, kind: str, doc: str) -> Fact:
    return Fact(f"context.{name}", kind, attrgetter(f"context.{name}"), doc)


def _policy_facts(names: tuple[str, ...]) -> tuple[Fact, ...]:
    """The facts that come from the upload context and the policy, not from one signal."""
    return (
        _context("creator_id", TEXT, "who uploads"),
        _context("creator_disclosed_ai", BOOL, "true: ticked AI; false: said no AI; null"),
        _context("creator_history", NUMBER, "earlier confirmed violations"),
        _context("caption", TEXT, "the caption"),
        _context("hashtags", LIST, "the hashtags"),
        _context("sensitive_topics", LIST, "topics the caller gave"),
        Fact(
            "topics",
            LIST,
            _topics,
            "sensitive topics: given by the caller or found in caption/hashtags",
        ),
        Fact(
            "topics.found",
            LIST,
            _topics_found,
            "where each topic was found, e.g. 'elections: caption term verkiezingen'",
        ),
        Fact("signals.errors", LIST, attrgetter("signals.errors"), "signals that failed"),
        Fact(
            "signals.missing",
            LIST,
            _Missing(names),
            "signals not computed for this upload",
        ),
    )


# what the policy derives from a signal's value, listed after the fact it reads
_CATEGORY_ACTION = Fact(
    "match.category_action",
    TEXT,
    _category_action,
    "the action the policy's bank_categories gives the matched category",
)
_DERIVED = {"match.category": _CATEGORY_ACTION}


def fact_table(signals: tuple[Signal, ...] = BUILTIN_SIGNALS) -> dict[str, Fact]:
    """Every fact a policy may name: each signal's, then the context's and the policy's."""
    names = tuple(s.name for s in signals)
    facts: list[Fact] = []
    for signal in signals:
        for offered in signal.facts:
            facts.append(_signal_fact(signal.name, offered))
            if facts[-1].name in _DERIVED:
                facts.append(_DERIVED[facts[-1].name])
    return {f.name: f for f in (*facts, *_policy_facts(names))}


# the vocabulary of a policy over the built-in signals
FACTS: dict[str, Fact] = fact_table()


class Facts(dict):
    """Facts computed on first use: a decision reads only the few its firing
    rules look at, and topic detection (regexes over the caption) is the
    costliest of them. Names are checked on load, so a miss here is a bug."""

    def __init__(self, inputs: Inputs, table: dict[str, Fact]) -> None:
        super().__init__()
        self._inputs = inputs
        self._table = table

    def __missing__(self, name: str) -> Any:
        value = self._table[name].get(self._inputs)
        self[name] = value
        return value

    def everything(self) -> dict[str, Any]:
        return {name: self[name] for name in self._table}


def make_inputs(
    signals: Signals,
    context: UploadContext,
    extra: dict[str, Any],
    find_topics: Callable[[], tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
    value_types: dict[str, type] | None = None,
) -> Inputs:
    """A missing signal reads as its empty value (nothing detected)."""
    types = value_types or {s.name: s.value_type for s in BUILTIN_SIGNALS}
    return Inputs(
        values={name: signals.get(name) or empty() for name, empty in types.items()},
        context=context,
        signals=signals,
        extra=extra,
        find_topics=functools.cache(find_topics) if find_topics else (lambda: ((), ())),
    )
