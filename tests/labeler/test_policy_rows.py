"""Every row of the default policy and the precedence between rows."""

from __future__ import annotations

import pytest

from labeler import (
    CredentialsSignal,
    Engine,
    MatchSignal,
    Signals,
    UploadContext,
    WatermarkSignal,
)
from labeler.decision import severity
from labeler.policy import DEFAULT_CASES, PolicyError, load_default_policy
from labeler.policy.cases import load_cases, run_case

C2PA_AI = CredentialsSignal(present=True, state="valid", ai_class="ai_generated")
C2PA_EDITED = CredentialsSignal(present=True, state="trusted", ai_class="ai_edited")
C2PA_INVALID_AI = CredentialsSignal(present=True, state="invalid", ai_class="ai_generated")
C2PA_POSSIBLY = CredentialsSignal(present=True, state="valid", ai_class="possibly_ai")
HINT_ONLY = CredentialsSignal(hint_ai_class="ai_generated", metadata_hints=("parameters",))
CAPTURE = CredentialsSignal(present=True, state="valid", ai_class="capture")
WM_AI = WatermarkSignal(detected=True, key_id="gen-7", owner="ImageGen", meaning="ai_generated")
WM_PLATFORM = WatermarkSignal(detected=True, key_id="plat-1", owner="us", meaning="platform")
DEEPFAKE = MatchSignal(matched=True, entry_id="e-1", category="misleading_deepfake", distance=9)
KNOWN_AIGC = MatchSignal(matched=True, entry_id="e-2", category="known_aigc", distance=14)
NEAR = MatchSignal(matched=False, near_match=True, entry_id="e-3", distance=40)


def sig(credentials=None, watermark=None, match=None, errors=()) -> Signals:
    return Signals(credentials=credentials, watermark=watermark, match=match, errors=errors)


def ctx(**kw) -> UploadContext:
    return UploadContext.from_dict(kw)


POLICY = load_default_policy()
CASES = load_cases(DEFAULT_CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_shipped_case_table(case):
    result = run_case(POLICY, case)
    assert result.passed, "\n".join(result.mismatches)


def test_case_table_covers_every_rule():
    fired = {r.rule for c in CASES for r in run_case(POLICY, c).decision.reasons}
    assert {rule.id for rule in POLICY.rules} <= fired


# (signals, context, action, label, label_source, distribution, first reason code)
ROWS = [
    ("nothing", sig(), ctx(), "none", None, None, "normal", "no_signal"),
    ("capture", sig(CAPTURE), ctx(), "none", None, None, "normal", "no_signal"),
    ("platform mark", sig(watermark=WM_PLATFORM), ctx(), "none", None, None, "normal", "no_signal"),
    (
        "deepfake",
        sig(match=DEEPFAKE),
        ctx(),
        "escalate",
        "ai_generated",
        "match",
        "reduced",
        "bank.match.misleading_deepfake",
    ),
    (
        "topic en",
        sig(C2PA_AI),
        ctx(caption="Queues at the polling station"),
        "escalate",
        "ai_generated",
        "credentials",
        "reduced",
        "sensitive_topic.elections",
    ),
    (
        "topic nl",
        sig(watermark=WM_AI),
        ctx(caption="Uitslagenavond van de Tweede Kamerverkiezingen"),
        "escalate",
        "ai_generated",
        "watermark",
        "reduced",
        "sensitive_topic.elections",
    ),
    (
        "topic given",
        sig(match=KNOWN_AIGC),
        ctx(sensitive_topics="Elections"),
        "escalate",
        "ai_generated",
        "match",
        "reduced",
        "sensitive_topic.elections",
    ),
    (
        "c2pa ai",
        sig(C2PA_AI),
        ctx(),
        "label",
        "ai_generated",
        "credentials",
        "normal",
        "c2pa.ai_generated",
    ),
    (
        "c2pa edit",
        sig(C2PA_EDITED),
        ctx(),
        "label",
        "ai_edited",
        "credentials",
        "normal",
        "c2pa.ai_edited",
    ),
    (
        "watermark",
        sig(watermark=WM_AI),
        ctx(),
        "label",
        "ai_generated",
        "watermark",
        "normal",
        "watermark.detected",
    ),
    (
        "known aigc",
        sig(match=KNOWN_AIGC),
        ctx(),
        "label",
        "ai_generated",
        "match",
        "normal",
        "bank.match.known_aigc",
    ),
    (
        "disclosed",
        sig(),
        ctx(creator_disclosed_ai=True),
        "label",
        "ai_generated",
        "creator",
        "normal",
        "creator.disclosed",
    ),
    (
        "invalid claim",
        sig(C2PA_INVALID_AI),
        ctx(),
        "require_disclosure",
        None,
        None,
        "normal",
        "c2pa.invalid_ai_claim",
    ),
    ("hint", sig(HINT_ONLY), ctx(), "require_disclosure", None, None, "normal", "metadata_hint"),
    (
        "possibly",
        sig(C2PA_POSSIBLY),
        ctx(),
        "require_disclosure",
        None,
        None,
        "normal",
        "c2pa.possibly_ai",
    ),
    ("near", sig(match=NEAR), ctx(), "require_disclosure", None, None, "normal", "bank.near_match"),
    (
        "contradicted",
        sig(C2PA_AI),
        ctx(creator_disclosed_ai=False),
        "label",
        "ai_generated",
        "credentials",
        "normal",
        "c2pa.ai_generated",
    ),
    (
        "repeat",
        sig(watermark=WM_AI),
        ctx(creator_history=3),
        "escalate",
        "ai_generated",
        "watermark",
        "reduced",
        "creator.repeat_violations",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_rows(row):
    _, signals, context, action, label, source, distribution, first = row
    decision = POLICY.decide(signals, context)
    assert decision.action == action
    assert decision.label == label
    assert decision.label_source == source
    assert decision.distribution == distribution
    assert decision.reasons[0].code == first
    assert decision.policy_version == POLICY.version == "2026.12-3"


def test_contradicted_disclosure_counts_towards_history():
    decision = POLICY.decide(sig(C2PA_AI), ctx(creator_disclosed_ai=False))
    assert "disclosure.contradicted" in decision.reason_codes
    assert decision.counts_towards_history
    assert not POLICY.decide(sig(C2PA_AI), ctx()).counts_towards_history


# Each piece of evidence alone, with the action it gives alone.
EVIDENCE = {
    "deepfake": (sig(match=DEEPFAKE), ctx(), "escalate"),
    "topic": (sig(C2PA_AI), ctx(hashtags="#election2024"), "escalate"),
    "c2pa": (sig(C2PA_AI), ctx(), "label"),
    "disclosed": (sig(), ctx(creator_disclosed_ai=True), "label"),
    "hint": (sig(HINT_ONLY), ctx(), "require_disclosure"),
    "near": (sig(match=NEAR), ctx(), "require_disclosure"),
    "nothing": (sig(), ctx(), "none"),
}


def _merge(a, b):
    (sa, ca, _), (sb, cb, _) = a, b
    signals = Signals(
        credentials=sa.credentials or sb.credentials,
        watermark=sa.watermark or sb.watermark,
        match=sa.match or sb.match,
    )
    context = UploadContext(
        creator_disclosed_ai=ca.creator_disclosed_ai
        if ca.creator_disclosed_ai is not None
        else cb.creator_disclosed_ai,
        hashtags=ca.hashtags + cb.hashtags,
    )
    return signals, context


PAIRS = [
    (a, b)
    for a in EVIDENCE
    for b in EVIDENCE
    if a < b
    # two values for the same signal slot cannot be combined
    and not {a, b} <= {"deepfake", "near"}
    and not {a, b} <= {"c2pa", "hint", "topic"}
]


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_precedence_the_more_severe_row_wins(pair):
    a, b = (EVIDENCE[p] for p in pair)
    decision = POLICY.decide(*_merge(a, b))
    assert decision.action == max(a[2], b[2], key=severity)


def test_precedence_order_is_escalate_label_disclosure_none():
    assert [severity(a) for a in ("none", "require_disclosure", "label", "escalate")] == [
        0,
        1,
        2,
        3,
    ]


def test_reasons_are_ordered_most_severe_first_then_rule_order():
    decision = POLICY.decide(
        sig(C2PA_AI, WM_AI, DEEPFAKE), ctx(creator_disclosed_ai=False, creator_history=9)
    )
    actions = [severity(r.action) for r in decision.reasons]
    assert actions == sorted(actions, reverse=True)
    assert decision.reason_codes == (
        "bank.match.misleading_deepfake",
        "creator.repeat_violations",
        "c2pa.ai_generated",
        "watermark.detected",
        "disclosure.contradicted",
    )


def test_same_inputs_same_decision():
    signals, context = sig(C2PA_EDITED, WM_AI, KNOWN_AIGC), ctx(caption="verkiezingen")
    assert POLICY.decide(signals, context) == POLICY.decide(signals, context)


def test_decision_records_signals_and_version():
    signals = sig(match=DEEPFAKE)
    decision = POLICY.decide(signals, ctx())
    assert decision.signals == signals.to_dict()
    assert decision.reasons[0].evidence["match.entry_id"] == "e-1"
    assert decision.reasons[0].rule == "bank_escalate"


def test_failed_signals_are_named_not_hidden():
    decision = POLICY.decide(sig(errors=("watermark: ValueError: bad key",)), ctx())
    assert decision.action == "none"
    assert decision.reason_codes == ("signal.unavailable",)
    assert "bad key" in decision.reasons[0].message


def test_context_may_be_a_dict_and_bad_input_is_a_typed_error():
    assert POLICY.decide(sig(), {"creator_disclosed_ai": "true"}).action == "label"
    with pytest.raises(PolicyError):
        POLICY.decide({"credentials": None}, ctx())
    with pytest.raises(PolicyError, match="unknown field"):
        POLICY.decide(sig(), {"colour": "red"})


def test_engine_uses_the_file_policy():
    assert Engine().policy.version == POLICY.version
