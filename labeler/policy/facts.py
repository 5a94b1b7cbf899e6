"""The named facts a policy's conditions and messages can refer to.

Facts flatten the signal summaries and the upload context into one namespace
(`credentials.state`, `match.category_action`, `topics`, ...). The registry
below is the whole vocabulary: a policy that names anything else is rejected
on load, so a typo cannot silently turn a rule off. A missing signal reads as
its empty summary (nothing detected), never as an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..context import UploadContext
from ..signals import CredentialsSignal, MatchSignal, Signals, WatermarkSignal

# kinds drive load-time checks of which operators make sense on a fact
BOOL, TEXT, NUMBER, LIST = "bool", "text", "number", "list"

VERIFIED_STATES = ("valid", "trusted")


@dataclass(frozen=True)
class Inputs:
    """What a fact is computed from; `extra` holds what the policy derived."""

    credentials: CredentialsSignal
    watermark: WatermarkSignal
    match: MatchSignal
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


def _f(name: str, kind: str, get: Callable[[Inputs], Any], doc: str) -> Fact:
    return Fact(name, kind, get, doc)


def _signal_field(signal: str, name: str, kind: str, doc: str) -> Fact:
    return _f(f"{signal}.{name}", kind, lambda i: getattr(getattr(i, signal), name), doc)


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        _signal_field("credentials", "present", BOOL, "a C2PA manifest was found"),
        _signal_field("credentials", "state", TEXT, "invalid | valid | trusted | null"),
        _f(
            "credentials.verified",
            BOOL,
            lambda i: i.credentials.present and i.credentials.state in VERIFIED_STATES,
            "a manifest is present and its state is valid or trusted",
        ),
        _signal_field("credentials", "ai_class", TEXT, "what the manifest declares"),
        _signal_field("credentials", "hint_ai_class", TEXT, "AI class implied by metadata"),
        _signal_field("credentials", "metadata_hints", LIST, "unsigned metadata hints"),
        _signal_field("credentials", "evidence", LIST, "assertions behind ai_class"),
        _signal_field("credentials", "failure_codes", LIST, "validation failure codes"),
        _signal_field("credentials", "ingredient_failures", LIST, "failed ingredients"),
        _signal_field("credentials", "signer", TEXT, "certificate subject of the signer"),
        _signal_field("credentials", "claim_generator", TEXT, "tool that wrote the claim"),
        _signal_field("credentials", "remote_manifest", BOOL, "manifest fetched remotely"),
        _signal_field("credentials", "error", TEXT, "why reading credentials failed"),
        _signal_field("watermark", "detected", BOOL, "a registered key's mark was found"),
        _signal_field("watermark", "key_id", TEXT, "which registered key matched"),
        _signal_field("watermark", "owner", TEXT, "who owns that key"),
        _signal_field("watermark", "meaning", TEXT, "what the owner means by the mark"),
        _signal_field("watermark", "payload_hex", TEXT, "the mark's payload"),
        _signal_field("watermark", "p_value", NUMBER, "chance an unmarked image scores so"),
        _signal_field("match", "matched", BOOL, "a bank entry lies within the radius"),
        _signal_field("match", "entry_id", TEXT, "the matched bank entry"),
        _signal_field("match", "category", TEXT, "the matched entry's category"),
        _f(
            "match.category_action",
            TEXT,
            lambda i: i.extra.get("match.category_action"),
            "the action the policy's bank_categories gives the matched category",
        ),
        _signal_field("match", "severity", TEXT, "the matched entry's severity"),
        _signal_field("match", "distance", NUMBER, "hash distance to the entry"),
        _signal_field("match", "hash_type", TEXT, "which hash matched"),
        _signal_field("match", "stage", TEXT, "hash | local_features"),
        _signal_field("match", "near_match", BOOL, "closest entry is just outside the radius"),
        _signal_field("match", "low_quality", BOOL, "upload too plain to match by hash"),
        _signal_field("match", "query_contained", NUMBER, "video: share of upload in entry"),
        _signal_field("match", "reference_contained", NUMBER, "video: share of entry in upload"),
        _signal_field("match", "query_pdq", TEXT, "the upload's PDQ, 64 hex digits"),
        _signal_field("context", "creator_id", TEXT, "who uploads"),
        _signal_field(
            "context", "creator_disclosed_ai", BOOL, "true: ticked AI; false: said no AI; null"
        ),
        _signal_field("context", "creator_history", NUMBER, "earlier confirmed violations"),
        _signal_field("context", "caption", TEXT, "the caption"),
        _signal_field("context", "hashtags", LIST, "the hashtags"),
        _signal_field("context", "sensitive_topics", LIST, "topics the caller gave"),
        _f(
            "topics",
            LIST,
            lambda i: i.find_topics()[0],
            "sensitive topics: given by the caller or found in caption/hashtags",
        ),
        _f(
            "topics.found",
            LIST,
            lambda i: i.find_topics()[1],
            "where each topic was found, e.g. 'elections: caption term verkiezingen'",
        ),
        _f("signals.errors", LIST, lambda i: i.signals.errors, "signals that failed"),
        _f(
            "signals.missing",
            LIST,
            lambda i: tuple(
                n for n in ("credentials", "watermark", "match") if getattr(i.signals, n) is None
            ),
            "signals not computed for this upload",
        ),
    )
}


class Facts(dict):
    """Facts computed on first use: a decision reads only the few its firing
    rules look at, and topic detection (regexes over the caption) is the
    costliest of them. Names are checked on load, so a miss here is a bug."""

    def __init__(self, inputs: Inputs) -> None:
        super().__init__()
        self._inputs = inputs

    def __missing__(self, name: str) -> Any:
        value = FACTS[name].get(self._inputs)
        self[name] = value
        return value

    def everything(self) -> dict[str, Any]:
        return {name: self[name] for name in FACTS}


def gather_facts(inputs: Inputs) -> Facts:
    return Facts(inputs)


def make_inputs(
    signals: Signals,
    context: UploadContext,
    extra: dict[str, Any],
    find_topics: Callable[[], tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> Inputs:
    return Inputs(
        credentials=signals.credentials or CredentialsSignal(),
        watermark=signals.watermark or WatermarkSignal(),
        match=signals.match or MatchSignal(),
        context=context,
        signals=signals,
        extra=extra,
        find_topics=functools.cache(find_topics) if find_topics else (lambda: ((), ())),
    )
