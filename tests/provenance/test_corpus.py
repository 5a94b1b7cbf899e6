"""The real C2PA corpus in ../shared/c2pa-fixtures, as its README table implies.

Manifests written by other tools (Photoshop, c2patool, the SDK's test generator),
broken and hostile ones included. Read with the SDK test root bundle as operator
anchors on top of the shipped C2PA trust list.
"""

from __future__ import annotations

import time

import pytest

import provenance

# file -> (status, state, ai_class, failure codes that must be present)
READ = {
    "C.jpg": ("read", "trusted", "non_ai_creation", ()),  # algorithmicMedia: no training data
    "CA.jpg": ("read", "trusted", "unknown", ()),
    "CACA.jpg": ("read", "trusted", "unknown", ()),
    "CACAE-uri-CA.jpg": ("read", "trusted", "non_ai_creation", ()),
    "CIE-sig-CA.jpg": ("read", "trusted", "non_ai_creation", ()),
    # the claim signer is trusted; only the CAWG identity's certificate is not (judged apart),
    # and its digitalSourceType (written with a leading space) still reads as a capture
    "C_with_CAWG_data.jpg": ("read", "trusted", "capture", ("cawg.x509.credential.untrusted",)),
    "E-sig-CA.jpg": ("read", "invalid", "unknown", ("claimSignature.mismatch",)),
    "XCA.jpg": ("read", "invalid", "unknown", ("assertion.dataHash.mismatch",)),
    "adobe-20220124-E-clm-CAICAI.jpg": (
        "read",
        "invalid",
        "unknown",
        ("ingredient.manifest.missing", "assertion.hashedURI.mismatch"),
    ),
    "boxhash.jpg": ("read", "trusted", "unknown", ()),
    "legacy.mp4": ("read", "valid", "unknown", ("signingCredential.untrusted",)),
    "legacy_ingredient_hash.jpg": ("read", "trusted", "unknown", ()),
    # Adobe's root is on the interim list only
    "ocsp.jpg": ("read", "trusted_legacy", "ai_edited", ()),
    "update_manifest.jpg": ("read", "trusted", "unknown", ()),
    "video1.mp4": ("read", "valid", "unknown", ()),
    "IMG_0003.jpg": ("absent", None, "unknown", ()),
    "P1000827.jpg": ("absent", None, "unknown", ()),
    "earth_apollo17.jpg": ("absent", None, "unknown", ()),
    "mars.webp": ("absent", None, "unknown", ()),
    "no_manifest.jpg": ("absent", None, "unknown", ()),
    "sample1.png": ("absent", None, "unknown", ()),
    "sample1.webp": ("absent", None, "unknown", ()),
    "video1_no_manifest.mp4": ("absent", None, "unknown", ()),
    "cloud.jpg": ("remote_manifest_not_fetched", None, "unknown", ()),
}

# Broken manifests and hostile containers: a typed error, quickly.
ERRORS = {
    "no_alg.jpg": (provenance.MalformedAsset, "unknown algorithm"),
    "prerelease.jpg": (provenance.MalformedAsset, "prerelease"),
    "nested_moov_1000.mp4": (provenance.MalformedAsset, "too deply nested"),
    "tiff_poc.tiff": (provenance.MalformedAsset, "too many subfiles"),
    # audio is outside the product; rejected from the sniffed bytes, never parsed
    "riff_bomb_1000.wav": (provenance.UnsupportedFormat, "not a supported image or video"),
}


def test_the_table_covers_every_media_file(fixtures_dir):
    media = {p.name for p in fixtures_dir.iterdir() if p.is_file() and p.suffix not in ("", ".md")}
    assert media == set(READ) | set(ERRORS)


@pytest.mark.parametrize("name", sorted(READ))
def test_corpus_file(fixtures_dir, sdk_test_anchors, name):
    status, state, ai_class, codes = READ[name]
    report = provenance.read_credentials((fixtures_dir / name).read_bytes(), None, sdk_test_anchors)
    assert report.status == status
    assert report.present is (status == "read")
    assert report.state == state
    assert report.ai_class == ai_class
    assert set(codes) <= set(report.failure_codes)
    if state == "trusted":
        assert all(c.startswith("cawg.") for c in report.failure_codes)
    if status == "read":
        assert report.signer is not None and report.signer.common_name
        assert report.claim_generator


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_broken_and_hostile_files_raise_typed_errors_fast(fixtures_dir, sdk_test_anchors, name):
    kind, words = ERRORS[name]
    data = (fixtures_dir / name).read_bytes()
    started = time.perf_counter()
    with pytest.raises(kind, match=words):
        provenance.read_credentials(data, None, sdk_test_anchors)
    assert time.perf_counter() - started < 1.0
    assert issubclass(kind, provenance.ProvenanceError)


def test_ocsp_photoshop_generative_fill_is_ai_edited_with_evidence(fixtures_dir, sdk_test_anchors):
    report = provenance.read_credentials(
        (fixtures_dir / "ocsp.jpg").read_bytes(), "image/jpeg", sdk_test_anchors
    )
    assert report.ai_class == "ai_edited"
    assert report.signer == provenance.Signer("Adobe Inc.", "Adobe C2PA")
    assert report.claim_generator.startswith("Adobe_Photoshop")
    assert report.signed_at.startswith("2025-08-13")
    assert report.manifest_count == 2
    assert any("compositeWithTrainedAlgorithmicMedia" in e for e in report.evidence)
    assert report.active_manifest in report.evidence[0]


def test_trusted_needs_the_operator_anchors(fixtures_dir):
    """Without the SDK test bundle, its signers are unknown: valid at best, never trusted."""
    data = (fixtures_dir / "C.jpg").read_bytes()
    report = provenance.read_credentials(data, "image/jpeg")
    assert report.state == "valid"
    assert report.failure_codes == ("signingCredential.untrusted",)


def test_failed_ingredients_are_reported(fixtures_dir, sdk_test_anchors):
    # CIE-sig-CA.jpg is trusted itself but was made from E-sig-CA.jpg, whose signature is broken.
    report = provenance.read_credentials(
        (fixtures_dir / "CIE-sig-CA.jpg").read_bytes(), None, sdk_test_anchors
    )
    assert report.state == "trusted"
    assert [(f.title, f.codes) for f in report.ingredient_failures] == [
        ("E-sig-CA.jpg", ("claimSignature.mismatch",))
    ]
    broken = provenance.read_credentials(
        (fixtures_dir / "adobe-20220124-E-clm-CAICAI.jpg").read_bytes(), None, sdk_test_anchors
    )
    assert [(f.title, f.codes) for f in broken.ingredient_failures] == [
        ("CAI.jpg", ("ingredient.manifest.missing",))
    ]


def test_untrusted_signer_alone_is_not_an_ingredient_failure(fixtures_dir, sdk_test_anchors):
    report = provenance.read_credentials(
        (fixtures_dir / "ocsp.jpg").read_bytes(), None, sdk_test_anchors
    )
    assert report.ingredient_failures == ()
