"""Policy files: read, check every name and value, build a `Policy`.

Everything is checked on load, with the line of the offending value, so that a
policy that loads cannot fail or silently misbehave while deciding.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..decision import ACTIONS, DISTRIBUTIONS, LABELS
from ..signals import BUILTIN_SIGNALS, Signal
from . import terms
from .conditions import compile_condition
from .display import parse_display
from .errors import PolicyError
from .facts import LIST, Fact, fact_table
from .model import _PLACEHOLDER, INHERIT, Policy, Rule, Template
from .yamlfile import Document, Path_, parse_document

PACKAGE_DIR = Path(__file__).resolve().parent
BUILTIN = "builtin:"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE_TEXT = re.compile(r"^[a-z0-9_.]+$")

TOP_KEYS = {
    "version": "the policy's version, recorded in every decision (required)",
    "description": "free text",
    "thresholds": "name -> number, used in conditions as {threshold: name}",
    "bank_categories": "bank category -> action for a match against that category",
    "unknown_bank_category": "action for a match whose category is not listed",
    "topics": "sensitive topic -> term lists",
    "predicates": "name -> condition, reusable in rules as {predicate: name}",
    "rules": "the rules (required)",
    "default_reason": "the reason given when no rule fires",
    "default_label": "label used when a rule inherits one and none is named",
    "display": "what people are shown beside a label: icon, texts per language, first exposure",
}
RULE_KEYS = {"id", "description", "when", "for_each", "then", "reason"}
THEN_KEYS = {"action", "label", "label_source", "distribution", "counts_towards_history"}
REASON_KEYS = {"code", "message", "evidence"}


def load_policy(path: str | Path, signals: tuple[Signal, ...] = BUILTIN_SIGNALS) -> Policy:
    """A policy file, checked against the facts `signals` offer (and the context's)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy: {exc.strerror or exc}", source=str(path)) from exc
    return load_policy_text(raw, source=str(path), base_dir=path.resolve().parent, signals=signals)


def load_policy_text(
    raw: bytes | str,
    *,
    source: str = "<policy>",
    base_dir: Path | None = None,
    signals: tuple[Signal, ...] = BUILTIN_SIGNALS,
) -> Policy:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    doc = parse_document(raw, source)
    digest = hashlib.sha256(raw).hexdigest()
    return build_policy(doc, base_dir=base_dir, digest=digest, signals=signals)


@dataclass(frozen=True)
class _Vocabulary:
    """The names a policy may use besides its own: facts and where a label may come from."""

    facts: dict[str, Fact]
    label_sources: tuple[str, ...]


def build_policy(
    doc: Document,
    *,
    base_dir: Path | None,
    digest: str = "",
    signals: tuple[Signal, ...] = BUILTIN_SIGNALS,
) -> Policy:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "a policy file is a mapping with 'version' and 'rules'")
    _keys(doc, data, (), set(TOP_KEYS), required={"version", "rules"})
    words = _Vocabulary(fact_table(signals), (*(s.name for s in signals), "creator"))

    version = data["version"]
    if not isinstance(version, str) or not version.strip():
        raise doc.error(
            ("version",), 'version must be text; quote it ("2.10" would otherwise read as 2.1)'
        )
    thresholds = _thresholds(doc, data)
    bank = _mapping(doc, data, "bank_categories")
    for category, action in bank.items():
        _choice(doc, action, ("bank_categories", category), ACTIONS, "action")
    unknown_action = data.get("unknown_bank_category")
    if unknown_action is not None:
        _choice(doc, unknown_action, ("unknown_bank_category",), ACTIONS, "action")
    topics = tuple(
        _topic(doc, name, spec, base_dir) for name, spec in _mapping(doc, data, "topics").items()
    )
    predicates: dict[str, Any] = {}
    for name, node in _mapping(doc, data, "predicates").items():
        _name(doc, name, ("predicates", name), "predicate")
        # only predicates defined above are visible: no cycles by construction
        predicates[name] = compile_condition(
            doc,
            node,
            ("predicates", name),
            predicates=dict(predicates),
            thresholds=thresholds,
            facts=words.facts,
        )
    rules = _rules(doc, data, predicates, thresholds, words)
    default_code, default_message = _default_reason(doc, data)
    default_label = data.get("default_label", "ai_generated")
    _choice(doc, default_label, ("default_label",), LABELS, "label")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise doc.error(("description",), "description must be text")
    try:
        display = parse_display(data.get("display"))
    except ValueError as exc:
        raise doc.error(("display",), str(exc)) from None

    return Policy(
        version=version.strip(),
        rules=rules,
        predicates=predicates,
        thresholds=dict(thresholds),
        bank_categories=dict(bank),
        unknown_bank_category=unknown_action,
        topics=topics,
        default_code=default_code,
        default_message=default_message,
        default_label=default_label,
        description=description.strip(),
        display=display,
        source=doc.source,
        digest=digest,
        fact_table=words.facts,
        value_types={s.name: s.value_type for s in signals},
    )


def _thresholds(doc: Document, data: dict) -> dict:
    thresholds = _mapping(doc, data, "thresholds")
    for name, value in thresholds.items():
        _name(doc, name, ("thresholds", name), "threshold")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise doc.error(("thresholds", name), "a threshold is a number >= 0")
    return thresholds


def _rules(doc: Document, data: dict, predicates, thresholds, words: _Vocabulary) -> tuple:
    rules_node = data["rules"]
    if not isinstance(rules_node, list) or not rules_node:
        raise doc.error(("rules",), "rules must be a non-empty list")
    rules = []
    seen: dict[str, int] = {}
    for index, node in enumerate(rules_node):
        rule = _rule(doc, node, index, predicates, thresholds, words)
        if rule.id in seen:
            raise doc.error(
                ("rules", index, "id"),
                f"duplicate rule id {rule.id!r} (first at line {seen[rule.id]})",
            )
        seen[rule.id] = doc.line(("rules", index, "id")) or 0
        rules.append(rule)
    return tuple(rules)


def _default_reason(doc: Document, data: dict) -> tuple[str, str]:
    default = data.get("default_reason") or {}
    if not isinstance(default, dict):
        raise doc.error(("default_reason",), "default_reason is a mapping with code and message")
    _keys(doc, default, ("default_reason",), {"code", "message"})
    default_code = default.get("code", "no_signal")
    if not isinstance(default_code, str) or not _CODE_TEXT.match(default_code):
        raise doc.error(("default_reason", "code"), "a reason code is made of a-z, 0-9, _ and .")
    default_message = default.get("message", "No AI signal was found.")
    if not isinstance(default_message, str):
        raise doc.error(("default_reason", "message"), "message must be text")
    return default_code, default_message


def _rule(doc: Document, node: Any, index: int, predicates, thresholds, words) -> Rule:
    at: Path_ = ("rules", index)
    if not isinstance(node, dict):
        raise doc.error(at, "a rule is a mapping with id, when, then and reason")
    _keys(doc, node, at, RULE_KEYS, required={"id", "when", "then", "reason"})
    rule_id = node["id"]
    _name(doc, rule_id, at + ("id",), "rule id")
    facts = words.facts
    when = compile_condition(
        doc, node["when"], at + ("when",), predicates=predicates, thresholds=thresholds, facts=facts
    )

    for_each = node.get("for_each")
    if for_each is not None and (for_each not in facts or facts[for_each].kind != LIST):
        lists = ", ".join(n for n, f in facts.items() if f.kind == LIST)
        raise doc.error(at + ("for_each",), f"for_each takes a list fact ({lists})")

    then = node["then"]
    if not isinstance(then, dict):
        raise doc.error(at + ("then",), "then is a mapping with at least 'action'")
    _keys(doc, then, at + ("then",), THEN_KEYS, required={"action"})
    action = _choice(doc, then["action"], at + ("then", "action"), ACTIONS, "action")
    label = then.get("label")
    if label is not None:
        _choice(doc, label, at + ("then", "label"), (*LABELS, INHERIT), "label")
        if action in ("none", "require_disclosure"):
            raise doc.error(
                at + ("then", "label"), f"a rule with action {action!r} cannot set a label"
            )
    source = _label_source(doc, then, label, at + ("then", "label_source"), words)
    distribution = then.get("distribution", "normal")
    _choice(doc, distribution, at + ("then", "distribution"), DISTRIBUTIONS, "distribution")
    counts = then.get("counts_towards_history", False)
    if not isinstance(counts, bool):
        raise doc.error(at + ("then", "counts_towards_history"), "true or false")

    reason = node["reason"]
    if not isinstance(reason, dict):
        raise doc.error(at + ("reason",), "reason is a mapping with code and message")
    _keys(doc, reason, at + ("reason",), REASON_KEYS, required={"code", "message"})
    local = {f"thresholds.{k}" for k in thresholds} | ({"item"} if for_each else set())
    local |= set(facts)
    code = _template(doc, reason["code"], at + ("reason", "code"), local, as_code=True)
    message = _template(doc, reason["message"], at + ("reason", "message"), local)
    evidence = reason.get("evidence") or []
    if not isinstance(evidence, list):
        raise doc.error(at + ("reason", "evidence"), "evidence is a list of fact names")
    for i, name in enumerate(evidence):
        if name not in facts:
            raise doc.error(at + ("reason", "evidence", i), f"unknown fact {name!r}")

    description = node.get("description")
    if description is not None and not isinstance(description, str):
        raise doc.error(at + ("description",), "description must be text")
    return Rule(
        id=rule_id,
        index=index,
        when=when,
        action=action,
        label=label,
        label_source=source,
        distribution=distribution,
        counts_towards_history=counts,
        code=code,
        message=message,
        evidence=tuple(evidence),
        for_each=for_each,
        description=description,
    )


def _label_source(doc: Document, then: dict, label, at: Path_, words: _Vocabulary):
    """Where the rule's label comes from: a signal's name, creator, or inherit with the label."""
    source = then.get("label_source", INHERIT if label == INHERIT else None)
    if source is not None:
        _choice(doc, source, at, (*words.label_sources, INHERIT), "source")
        if label is None:
            raise doc.error(at, "label_source without a label")
        if (source == INHERIT) != (label == INHERIT):
            raise doc.error(at, "label and label_source are inherited together or not at all")
    return source


def _template(doc: Document, text: Any, at: Path_, known: set[str], *, as_code=False) -> Template:
    """`known`: the facts and the rule's local names (item, thresholds.NAME)."""
    if not isinstance(text, str) or not text.strip():
        raise doc.error(at, "must be non-empty text")
    names = tuple(_PLACEHOLDER.findall(text))
    for name in names:
        if name not in known:
            raise doc.error(at, f"unknown placeholder {{{name}}}")
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        raise doc.error(at, "unbalanced '{' or '}' (placeholders look like {fact.name})")
    if as_code and not _CODE_TEXT.match(_PLACEHOLDER.sub("x", text)):
        raise doc.error(at, "a reason code is made of a-z, 0-9, _ and . (plus {placeholders})")
    return Template(text=text.strip(), names=names, as_code=as_code)


def _topic(doc: Document, name: str, spec: Any, base_dir: Path | None) -> terms.Topic:
    at: Path_ = ("topics", name)
    _name(doc, name, at, "topic")
    if not isinstance(spec, dict):
        raise doc.error(at, "a topic is a mapping with term_lists and/or terms")
    _keys(doc, spec, at, {"term_lists", "terms"})
    found: list[str] = []
    sources: list[str] = []
    lists = spec.get("term_lists") or []
    if not isinstance(lists, list):
        raise doc.error(at + ("term_lists",), "term_lists is a list of files")
    for i, ref in enumerate(lists):
        if not isinstance(ref, str):
            raise doc.error(at + ("term_lists", i), "a term list is a file path")
        path = _resolve(doc, ref, at + ("term_lists", i), base_dir)
        try:
            found.extend(terms.read_term_list(path, shown_as=ref))
        except PolicyError as exc:
            raise doc.error(at + ("term_lists", i), str(exc)) from exc
        sources.append(ref)
    inline = spec.get("terms") or []
    if not isinstance(inline, list) or not all(isinstance(t, str) and t.strip() for t in inline):
        raise doc.error(at + ("terms",), "terms is a list of text")
    found.extend(t.strip() for t in inline)
    if not found:
        raise doc.error(at, f"topic {name!r} has no terms")
    return terms.compile_topic(name, found, tuple(sources))


def _resolve(doc: Document, ref: str, at: Path_, base_dir: Path | None) -> Path:
    if ref.startswith(BUILTIN):
        path = (PACKAGE_DIR / ref.removeprefix(BUILTIN)).resolve()
        if PACKAGE_DIR not in path.parents:
            raise doc.error(at, f"{ref!r} points outside the shipped term lists")
        return path
    path = Path(ref)
    if not path.is_absolute():
        if base_dir is None:
            raise doc.error(at, "relative term list path in a policy that is not a file")
        path = base_dir / path
    return path


def _mapping(doc: Document, data: dict, key: str) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error((key,), f"{key} must be a mapping")
    return value


def _keys(doc: Document, node: dict, at: Path_, allowed: set[str], required=frozenset()) -> None:
    for key in node:
        if key not in allowed:
            raise doc.error(
                at + (key,), f"unknown key {key!r}; expected one of {', '.join(sorted(allowed))}"
            )
    for key in sorted(required):
        if key not in node:
            raise doc.error(at, f"missing required key {key!r}")


def _name(doc: Document, name: Any, at: Path_, what: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise doc.error(at, f"{what} {name!r} must be lower-case letters, digits and _")


def _choice(doc: Document, value: Any, at: Path_, allowed, what: str) -> Any:
    if value not in allowed or isinstance(value, bool):
        raise doc.error(at, f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value
