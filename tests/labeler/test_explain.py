"""The creator-facing explanation: plain words, never internals."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeler import CredentialsSignal, MatchSignal, Signals, UploadContext, WatermarkSignal
from labeler.decision import Decision, Reason
from labeler.explain import explain
from labeler.policy import load_default_policy, load_policy_text

POLICY = load_default_policy()


def _answer(signals, **context):
    return explain(POLICY.decide(signals, UploadContext.from_dict(context)))


def test_label_from_credentials():
    answer = _answer(
        Signals(credentials=CredentialsSignal(present=True, state="valid", ai_class="ai_edited"))
    )
    assert answer.will_label and answer.label == "ai_edited" and answer.label_text == "AI-edited"
    assert not answer.disclosure_required and not answer.under_review
    assert "“AI-edited” label" in answer.headline
    assert "Content Credentials" in answer.headline
    assert answer.why == ("Your file's Content Credentials say it was edited with generative AI.",)


def test_weak_evidence_asks_for_disclosure_without_a_label():
    answer = _answer(Signals(credentials=CredentialsSignal(hint_ai_class="ai_generated")))
    assert answer.disclosure_required and not answer.will_label and answer.label is None
    assert answer.headline.startswith("Before publishing, please tell us whether AI was used")
    assert "cannot be verified" in answer.why[0]


def test_escalation_says_review_and_reduced_reach_but_not_why_in_numbers():
    answer = _answer(
        Signals(
            match=MatchSignal(
                matched=True, entry_id="bank-42", category="misleading_deepfake", distance=17
            )
        ),
        caption="verkiezingen",
    )
    assert answer.under_review and answer.will_label
    assert "A person will review this upload" in answer.headline
    assert "manipulated or misleading" in answer.text
    assert "bank-42" not in answer.text and "17" not in answer.text


def test_nothing_found():
    answer = _answer(Signals())
    assert answer.action == "none" and not answer.will_label
    assert answer.text == (
        "No AI label will be applied to this upload. "
        "We found no sign that AI was used to make or edit this file."
    )


def test_contradiction_and_repeat_violations_are_explained_without_the_threshold():
    answer = _answer(
        Signals(watermark=WatermarkSignal(detected=True, meaning="ai_generated", p_value=1e-9)),
        creator_disclosed_ai="false",
        creator_history=5,
    )
    assert "You told us that no AI was used" in answer.text
    assert "Earlier uploads from this account" in answer.text
    assert not re.search(r"\d", answer.text)


def test_explain_accepts_a_stored_decision_dict():
    decision = POLICY.decide(
        Signals(
            credentials=CredentialsSignal(present=True, state="valid", ai_class="ai_generated")
        ),
        UploadContext(),
    )
    assert explain(decision.to_dict()) == explain(decision)
    data = explain(decision).to_dict()
    assert data["text"] == explain(decision).text and data["why"] == list(explain(decision).why)


def test_operator_reason_codes_cannot_leak_through_the_explanation():
    # a careless custom policy that puts the entry id and distance into codes
    policy = load_policy_text(
        """
version: "leaky-1"
rules:
  - id: leak
    when: match.matched
    then: {action: escalate, label: ai_generated, label_source: match}
    reason:
      code: bank.match.{match.entry_id}
      message: entry {match.entry_id} at distance {match.distance}
  - id: leak_topic
    when: match.matched
    then: {action: escalate}
    reason: {code: "sensitive_topic.{match.entry_id}", message: x}
  - id: custom
    when: match.matched
    then: {action: label, label: ai_generated}
    reason: {code: "custom.{match.distance}", message: "{match.distance}"}
""",
        source="leaky.yaml",
    )
    decision = policy.decide(
        Signals(match=MatchSignal(matched=True, entry_id="secretentry", distance=12)), {}
    )
    assert "secretentry" in decision.reasons[0].code  # the analyst view keeps it
    text = explain(decision).text
    assert "secretentry" not in text and "12" not in text
    assert "a sensitive topic," in text


TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=6, max_size=16).map(
    lambda s: "zq" + s  # never an English word that a fixed sentence could contain
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entry_id=TOKEN,
    key_id=TOKEN,
    distance=st.integers(0, 256),
    p_value=st.floats(0, 1),
    history=st.integers(0, 50),
    matched=st.booleans(),
    near=st.booleans(),
    category=st.sampled_from(["known_aigc", "misleading_deepfake", "other"]),
    detected=st.booleans(),
    meaning=st.sampled_from(["ai_generated", "platform"]),
    ai_class=st.sampled_from(["ai_generated", "ai_edited", "possibly_ai", "capture"]),
    state=st.sampled_from([None, "invalid", "valid", "trusted"]),
    disclosed=st.sampled_from([None, True, False]),
    caption=st.sampled_from([None, "election day", "a cat"]),
)
def test_explanation_never_reveals_ids_distances_scores_or_thresholds(
    entry_id,
    key_id,
    distance,
    p_value,
    history,
    matched,
    near,
    category,
    detected,
    meaning,
    ai_class,
    state,
    disclosed,
    caption,
):
    signals = Signals(
        credentials=CredentialsSignal(
            present=state is not None,
            state=state,
            ai_class=ai_class,
            failure_codes=(key_id,),
            signer=key_id,
        ),
        watermark=WatermarkSignal(
            detected=detected,
            key_id=key_id,
            owner=key_id,
            meaning=meaning,
            payload_hex=key_id,
            p_value=p_value,
        ),
        match=MatchSignal(
            matched=matched,
            entry_id=entry_id,
            category=category,
            distance=distance,
            near_match=near,
            hash_type="pdq",
        ),
    )
    context = UploadContext(
        creator_id=key_id, creator_disclosed_ai=disclosed, caption=caption, creator_history=history
    )
    decision = POLICY.decide(signals, context)
    answer = explain(decision)
    blob = " ".join(str(v) for v in answer.to_dict().values())
    for secret in (entry_id, key_id):
        assert secret not in blob
    # no number at all: distances, p-values, thresholds and histories are all numbers
    assert not re.search(r"\d", blob), blob
    assert "pdq" not in blob.lower() and "threshold" not in blob.lower()


def test_unknown_codes_say_nothing_specific():
    decision = Decision(
        action="label",
        label=None,
        reasons=(Reason("x.internal_42", "m"),),
        policy_version="v",
        signals={},
    )
    answer = explain(decision)
    assert not answer.will_label
    assert answer.why == ("Our content policy for AI-made media applies to this upload.",)


def test_a_creator_who_said_no_ai_is_told_what_was_found_not_asked_again():
    decision = Decision(
        action="require_disclosure",
        label=None,
        reasons=(Reason("metadata_hint", "Unsigned metadata suggests AI involvement."),),
        policy_version="test",
        signals={},
    )
    asked = explain(decision)
    answered = explain(decision, disclosed=False)
    assert "please tell us whether ai was used" in asked.headline.lower()
    assert "please tell us" not in answered.text.lower()
    assert answered.headline.startswith("You told us that no AI was used")
    assert "no label is applied" in answered.headline
    assert any("metadata suggests" in s for s in answered.why)
