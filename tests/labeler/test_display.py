"""The decision's display block: EU common AI icon, texts per language, source in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeler.explain import explain
from labeler.policy import PolicyError, load_default_policy, load_policy_text
from labeler.signals import Signals

POLICY = load_default_policy()


def _decide(policy, credentials):
    return policy.decide(Signals.from_dict({"credentials": credentials}))


def test_ai_labels_carry_the_eu_icon_and_five_languages():
    creds = {
        "present": True,
        "state": "trusted",
        "ai_class": "ai_generated",
        "ai_tool": "Adobe Firefly",
    }
    display = _decide(POLICY, creds).display
    assert display["icon"] == "eu-common-ai-icon" and display["first_exposure"] is True
    assert set(display["text"]) == {"en", "nl", "de", "fr", "es"}
    assert display["source"] == "Content Credentials from Adobe Firefly"
    edited = _decide(POLICY, {**creds, "ai_class": "ai_edited"}).display
    assert edited["text"]["de"] == "Mit KI verändert"


def test_legacy_trust_is_said_in_the_source_and_the_reason():
    creds = {"present": True, "state": "trusted_legacy", "ai_class": "ai_generated"}
    decision = _decide(POLICY, creds)
    assert decision.reason_codes == ("c2pa.ai_generated.legacy_trust",)
    assert "interim trust list" in decision.display["source"]
    # the creator-facing answer carries the same block, less the certificate's subject
    shown = explain(decision).display
    assert shown == {k: v for k, v in decision.display.items() if k != "signed_by"}


def test_the_signer_and_verified_identities_are_named_unverified_ones_not():
    creds = {
        "present": True,
        "state": "trusted",
        "ai_class": "ai_generated",
        "signer": "Example Generator (issued by Example CA)",
        "identities": [
            "Jane Doe, identity verified by Example ID (verified: the issuer is trusted)",
            "Mallory, identity signed by Nobody (untrusted: unknown issuer)",
        ],
    }
    display = _decide(POLICY, creds).display
    assert display["signed_by"] == "Example Generator (issued by Example CA)"
    assert display["identities"] == ["Jane Doe, identity verified by Example ID"]
    # a label from another signal names no signer
    watermark = {"detected": True, "meaning": "ai_generated", "owner": "a partner"}
    marked = POLICY.decide(Signals.from_dict({"watermark": watermark})).display
    assert marked["source"] == "an invisible watermark the AI tool embedded"
    assert marked["signed_by"] is None and marked["identities"] == []


def test_nothing_labelled_shows_nothing():
    decision = _decide(POLICY, {"present": True, "state": "valid", "ai_class": "capture"})
    assert decision.display is None


def test_a_policy_file_adds_languages_and_rejects_bad_ones():
    text = POLICY_TEXT + "\ndisplay:\n  texts:\n    ai_generated: {it: Generato con l'IA}\n"
    policy = load_policy_text(text)
    creds = {"present": True, "state": "trusted", "ai_class": "ai_generated"}
    display = _decide(policy, creds).display
    assert display["text"]["it"] == "Generato con l'IA" and display["text"]["en"] == "AI-generated"
    with pytest.raises(PolicyError, match="display"):
        load_policy_text(POLICY_TEXT + "\ndisplay:\n  texts:\n    fake: {en: x}\n")


POLICY_TEXT = Path(POLICY.source).read_text(encoding="utf-8")
