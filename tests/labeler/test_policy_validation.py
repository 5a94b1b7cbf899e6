"""Invalid policy files fail on load with the line and the reason."""

from __future__ import annotations

import textwrap
import time

import pytest

from labeler.policy import DEFAULT_POLICY, PolicyError, load_policy, load_policy_text

GOOD = """\
version: "t-1"
thresholds:
  repeat: 2
bank_categories:
  misleading_deepfake: escalate
predicates:
  strong:
    any:
      - watermark.detected
      - match.matched
rules:
  - id: wm
    when: {predicate: strong}
    then: {action: label, label: ai_generated, label_source: watermark}
    reason:
      code: watermark.detected
      message: Mark of {watermark.owner}.
"""


def test_the_minimal_policy_loads():
    policy = load_policy_text(GOOD, source="good.yaml")
    assert policy.version == "t-1"
    assert [r.id for r in policy.rules] == ["wm"]
    assert policy.digest and len(policy.digest) == 64


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy_text(textwrap.dedent(text), source="bad.yaml")
    return info.value


# (what is wrong, the replaced text, its replacement, expected line, words in the reason)
MUTATIONS = [
    ("action typo", "action: label,", "action: lable,", 14, "'lable' is not one of"),
    ("unknown fact", "- match.matched", "- match.matchd", 10, "unknown fact 'match.matchd'"),
    ("unknown predicate", "{predicate: strong}", "{predicate: strnog}", 13, "unknown predicate"),
    ("unknown rule key", "    when:", "    whne:", 13, "unknown key 'whne'"),
    (
        "label on disclosure",
        "action: label,",
        "action: require_disclosure,",
        14,
        "cannot set a label",
    ),
    ("bad label", "label: ai_generated,", "label: deepfake,", 14, "label 'deepfake'"),
    ("bank action", "misleading_deepfake: escalate", "misleading_deepfake: ban", 5, "'ban'"),
    ("version number", 'version: "t-1"', "version: 2.10", 1, "quote it"),
    ("threshold text", "repeat: 2", "repeat: many", 3, "threshold is a number"),
    ("placeholder", "{watermark.owner}", "{watermark.ownr}", 17, "unknown placeholder"),
    ("code chars", "code: watermark.detected", "code: Watermark Detected", 16, "reason code"),
    ("syntax", "    then: {action", "    then: {{action", 15, "construct starts at line 14"),
    ("duplicate key", "  repeat: 2\n", "  repeat: 2\n  repeat: 3\n", 4, "duplicate key 'repeat'"),
    ("no rules", "rules:\n", "rulez:\n", 11, "unknown key 'rulez'"),
    ("source w/o label", "label: ai_generated, ", "", 14, "label_source without a label"),
    (
        "contains on text",
        "- match.matched",
        "- {fact: match.category, contains: x}",
        10,
        "list fact",
    ),
    ("gte on text", "- match.matched", "- {fact: match.category, gte: 3}", 10, "number fact"),
    (
        "unknown threshold",
        "- match.matched",
        "- {fact: context.creator_history, gte: {threshold: repaet}}",
        10,
        "unknown threshold 'repaet'",
    ),
    ("two ops", "- match.matched", "- {fact: match.category, equals: a, in: [b]}", 10, "one of"),
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_invalid_policy_names_line_and_reason(mutation):
    _, old, new, line, words = mutation
    assert old in GOOD
    error = _error(GOOD.replace(old, new, 1))
    assert error.line == line, str(error)
    assert words in error.reason, str(error)
    assert str(error).startswith(f"bad.yaml:{line}:")


def test_duplicate_rule_ids():
    rule = GOOD[GOOD.index("  - id: wm") :]
    error = _error(GOOD + rule)
    assert error.line == 18
    assert "duplicate rule id 'wm' (first at line 12)" in error.reason


def test_predicates_see_only_earlier_ones():
    text = GOOD.replace("predicates:\n", "predicates:\n  early:\n    predicate: strong\n")
    error = _error(text)
    assert error.line == 8 and "unknown predicate 'strong'" in error.reason


def test_missing_version_and_empty_file():
    assert "missing required key 'version'" in _error(GOOD.replace('version: "t-1"\n', "")).reason
    assert _error("").reason == "the file is empty"
    assert "a policy file is a mapping" in _error("- a\n- b\n").reason


def test_python_tags_are_refused():
    error = _error(GOOD.replace('"t-1"', "!!python/object/apply:os.system [ls]"))
    assert error.line == 1 and "bad value" in error.reason


def test_alias_bomb_fails_fast_with_an_error():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    error = _error("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 5
    assert "YAML nodes" in error.reason


def test_term_list_problems_name_the_list_and_line(tmp_path):
    (tmp_path / "t.txt").write_text("# comment\nelection\nab\n", encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text(GOOD + "topics:\n  elections:\n    term_lists: [t.txt]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(policy)
    assert info.value.line == 20
    assert "t.txt:3: term shorter than 3 letters" in info.value.reason

    policy.write_text(
        GOOD + "topics:\n  elections:\n    term_lists: [missing.txt]\n", encoding="utf-8"
    )
    with pytest.raises(PolicyError, match="cannot read term list"):
        load_policy(policy)
    policy.write_text(
        GOOD + "topics:\n  elections:\n    term_lists: ['builtin:../../pyproject.toml']\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="outside the shipped term lists"):
        load_policy(policy)


def test_relative_term_lists_resolve_next_to_the_policy(tmp_path):
    (tmp_path / "fr.txt").write_text("scrutin\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        GOOD + "topics:\n  elections:\n    term_lists: [fr.txt]\n    terms: [stembus]\n",
        encoding="utf-8",
    )
    policy = load_policy(tmp_path / "p.yaml")
    assert policy.topics[0].terms == ("scrutin", "stembus")


def test_unreadable_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "nope.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(tmp_path / "bin.yaml")


def test_shipped_policy_validates():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.version == "2026.12-3"
    assert policy.bank_categories["misleading_deepfake"] == "escalate"
    assert {t.name for t in policy.topics} == {"elections"}
