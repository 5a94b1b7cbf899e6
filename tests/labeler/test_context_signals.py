import json

import pytest

from labeler import CredentialsSignal, MatchSignal, Signals, UploadContext, WatermarkSignal


def test_signals_survive_a_json_round_trip():
    signals = Signals(
        credentials=CredentialsSignal(
            present=True,
            state="trusted",
            ai_class="ai_generated",
            evidence=("manifest urn:x action c2pa.created",),
        ),
        watermark=WatermarkSignal(
            detected=True, key_id="gen-1", meaning="ai_generated", payload_hex="00ff", p_value=1e-12
        ),
        match=MatchSignal(matched=True, entry_id="7", category="misleading_deepfake", distance=3),
        errors=("x: y",),
    )
    again = Signals.from_dict(json.loads(json.dumps(signals.to_dict())))
    assert again == signals


def test_unknown_signal_fields_are_refused():
    with pytest.raises(ValueError, match="unknown field"):
        Signals.from_dict({"credentials": {"present": True, "stat": "valid"}})
    with pytest.raises(ValueError, match="unknown field"):
        Signals.from_dict({"watermarks": {}})


def test_context_from_form_values():
    ctx = UploadContext.from_dict(
        {
            "creator_id": "c1",
            "creator_disclosed_ai": "false",
            "hashtags": "vote, news ,",
            "sensitive_topics": "elections",
            "creator_history": "2",
        }
    )
    assert ctx.creator_disclosed_ai is False
    assert ctx.hashtags == ("vote", "news")
    assert ctx.sensitive_topics == ("elections",)
    assert ctx.creator_history == 2
    assert UploadContext.from_dict({}).creator_disclosed_ai is None


def test_context_rejects_nonsense():
    with pytest.raises(ValueError, match="true or false"):
        UploadContext.from_dict({"creator_disclosed_ai": "maybe"})
    with pytest.raises(ValueError, match="unknown field"):
        UploadContext.from_dict({"creator": "x"})
