"""labeler.signals.credentials: the report boiled down for the policy, errors kept per file."""

from __future__ import annotations

import time

import pytest

import provenance
from labeler import Engine, LabelerError, analyze
from labeler.media import decode
from labeler.signals import credentials as signal_credentials
from provenance import sign


@pytest.fixture
def engine(fixtures_dir):
    anchors = (str(fixtures_dir / "certs" / "test_cert_root_bundle.pem"),)
    return Engine(credentials=provenance.Settings(operator_anchors=anchors))


def test_settings_come_from_the_environment_and_fail_fast(monkeypatch, tmp_path):
    monkeypatch.delenv("AIGC_TRUST_LIST", raising=False)
    monkeypatch.setenv("AIGC_TRUST_ANCHORS", str(tmp_path / "missing.pem"))
    with pytest.raises(provenance.TrustConfigError, match="does not exist"):
        signal_credentials.settings_from_env()
    monkeypatch.delenv("AIGC_TRUST_ANCHORS")
    assert signal_credentials.settings_from_env() == provenance.Settings()


def test_trusted_generated_asset(fixtures_dir, engine):
    # Photoshop's generative fill, signed by Adobe under the interim list only
    media = decode((fixtures_dir / "ocsp.jpg").read_bytes(), "ocsp.jpg")
    signal = engine.signal("credentials").gather(media)
    assert signal.present and signal.state == "trusted_legacy"
    assert signal.ai_class == "ai_edited"
    assert signal.signer == "Adobe C2PA (issued by Adobe Inc.)"
    assert signal.failure_codes == ()
    assert signal.evidence and signal.error is None


@pytest.mark.parametrize(
    "name, words", [("no_alg.jpg", "unknown algorithm"), ("prerelease.jpg", "prerelease")]
)
def test_malformed_manifest_is_a_signal_error_not_a_failed_scan(fixtures_dir, engine, name, words):
    data = (fixtures_dir / name).read_bytes()
    signal = engine.signal("credentials").gather(decode(data, name))
    assert signal.present is False
    assert signal.error.startswith("malformed_asset: ") and words in signal.error
    decision = analyze(data, name, engine=engine)  # the scan goes on: pixels are fine
    assert decision.signals["credentials"]["error"] == signal.error
    assert decision.signals["errors"] == ()


def test_remote_manifest_is_flagged(fixtures_dir, engine):
    media = decode((fixtures_dir / "cloud.jpg").read_bytes(), "cloud.jpg")
    signal = engine.signal("credentials").gather(media)
    assert signal.remote_manifest and not signal.present
    assert signal.failure_codes == ("remote_manifest_not_fetched",)


def test_analyze_labels_generated_media(photo_jpeg, signer):
    signed = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="trainedAlgorithmicMedia")
    decision = analyze(signed, "x.jpg", engine=Engine(credentials=provenance.Settings()))
    assert (decision.action, decision.label) == ("label", "ai_generated")
    assert "c2pa.ai_generated" in [r.code for r in decision.reasons]
    cred = decision.signals["credentials"]
    assert cred["state"] == "valid" and cred["ai_class"] == "ai_generated"


def test_failed_ingredients_reach_the_signal(fixtures_dir, engine):
    media = decode((fixtures_dir / "CIE-sig-CA.jpg").read_bytes(), "CIE-sig-CA.jpg")
    signal = engine.signal("credentials").gather(media)
    assert signal.state == "trusted"
    assert signal.ingredient_failures == ("E-sig-CA.jpg: claimSignature.mismatch",)


@pytest.mark.parametrize("name", ["nested_moov_1000.mp4", "riff_bomb_1000.wav", "tiff_poc.tiff"])
def test_hostile_files_end_in_a_typed_error_quickly_at_the_labeler_level(
    fixtures_dir, engine, name
):
    data = (fixtures_dir / name).read_bytes()
    started = time.perf_counter()
    try:
        decision = analyze(data, name, engine=engine)
    except LabelerError:
        pass  # refused while decoding: a clear per-file error for `aigc scan`
    else:
        # decoded, so the credentials signal must carry the typed error itself
        assert decision.signals["credentials"]["error"].startswith(
            ("malformed_asset: ", "unsupported_format: ")
        )
    assert time.perf_counter() - started < 2.0
