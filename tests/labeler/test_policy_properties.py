"""Properties of the default policy over generated signals (hypothesis).

Adding evidence (a signal that was absent, a sensitive topic, more confirmed
violations) must never lower the action's severity; deciding is deterministic.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeler import CredentialsSignal, MatchSignal, Signals, UploadContext, WatermarkSignal
from labeler.decision import ACTIONS, severity
from labeler.policy import load_default_policy

POLICY = load_default_policy()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

AI_CLASSES = ["ai_generated", "ai_edited", "possibly_ai", "capture", "non_ai_creation", "unknown"]
ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)

credentials = st.builds(
    CredentialsSignal,
    present=st.booleans(),
    state=st.sampled_from([None, "invalid", "valid", "trusted"]),
    ai_class=st.sampled_from(AI_CLASSES),
    hint_ai_class=st.sampled_from([None, *AI_CLASSES]),
    metadata_hints=st.lists(ids, max_size=2).map(tuple),
    failure_codes=st.lists(ids, max_size=2).map(tuple),
)
watermark = st.builds(
    WatermarkSignal,
    detected=st.booleans(),
    key_id=st.none() | ids,
    owner=st.none() | ids,
    meaning=st.sampled_from([None, "ai_generated", "platform", "partner"]),
    p_value=st.none() | st.floats(0, 1),
)
match = st.builds(
    MatchSignal,
    matched=st.booleans(),
    entry_id=st.none() | ids,
    category=st.sampled_from([None, "known_aigc", "misleading_deepfake", "debunked_hoax"]),
    distance=st.none() | st.integers(0, 256),
    near_match=st.booleans(),
)
CAPTIONS = [None, "holiday pics", "election night", "Ga stemmen bij het stembureau", "Briefwahl"]
context = st.builds(
    UploadContext,
    creator_id=st.none() | ids,
    creator_disclosed_ai=st.sampled_from([None, True, False]),
    caption=st.sampled_from(CAPTIONS),
    hashtags=st.lists(st.sampled_from(["cats", "#Elections2024", "verkiezingen"]), max_size=2).map(
        tuple
    ),
    sensitive_topics=st.lists(st.sampled_from(["elections", "public_health"]), max_size=1).map(
        tuple
    ),
    creator_history=st.none() | st.integers(0, 10),
)
signals = st.builds(
    Signals,
    credentials=st.none() | credentials,
    watermark=st.none() | watermark,
    match=st.none() | match,
    errors=st.lists(ids, max_size=1).map(tuple),
)


@SETTINGS
@given(signals, context, credentials, watermark, match)
def test_adding_a_signal_never_lowers_severity(base, ctx, cred, wm, m):
    before = severity(POLICY.decide(base, ctx).action)
    for slot, value in (("credentials", cred), ("watermark", wm), ("match", m)):
        if getattr(base, slot) is None:
            more = replace(base, **{slot: value})
            assert severity(POLICY.decide(more, ctx).action) >= before, (slot, value)


@SETTINGS
@given(signals, context, st.sampled_from(["elections", "public_health"]), st.integers(1, 5))
def test_more_context_evidence_never_lowers_severity(base, ctx, topic, extra_violations):
    before = severity(POLICY.decide(base, ctx).action)
    with_topic = replace(ctx, sensitive_topics=ctx.sensitive_topics + (topic,))
    assert severity(POLICY.decide(base, with_topic).action) >= before
    worse = replace(ctx, creator_history=(ctx.creator_history or 0) + extra_violations)
    assert severity(POLICY.decide(base, worse).action) >= before


@SETTINGS
@given(signals, context)
def test_decisions_are_deterministic_and_well_formed(sigs, ctx):
    decision = POLICY.decide(sigs, ctx)
    assert decision == POLICY.decide(sigs, ctx)
    assert decision.action in ACTIONS
    assert decision.policy_version == POLICY.version
    assert decision.reasons, "every decision says why"
    ranks = [severity(r.action) for r in decision.reasons]
    assert ranks == sorted(ranks, reverse=True)
    assert severity(decision.reasons[0].action) == severity(decision.action)
    if decision.action in ("none", "require_disclosure"):
        assert decision.label is None and decision.label_source is None
    if decision.action == "escalate":
        assert decision.distribution == "reduced"
    if decision.label is not None:
        assert decision.label in ("ai_generated", "ai_edited")
