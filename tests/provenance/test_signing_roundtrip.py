"""Our own signer, read back: every digital source type, PNG and JPEG, and the attacks."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import provenance
from provenance import Ingredient, sign

from .conftest import encode

# digitalSourceType of c2pa.created -> class by the C2PA Asset Rubrics (inception signals)
SOURCE_TYPES = {
    "trainedAlgorithmicMedia": "ai_generated",
    "trainedAlgorithmicData": "ai_generated",
    "compositeWithTrainedAlgorithmicMedia": "ai_edited",
    "compositeSynthetic": "ai_edited",
    "composite": "possibly_ai",
    "screenCapture": "possibly_ai",
    "digitalArt": "possibly_ai",
    "digitalCapture": "capture",
    "computationalCapture": "capture",
    "compositeCapture": "capture",
    "digitalCreation": "non_ai_creation",
    "algorithmicMedia": "non_ai_creation",
    "empty": "non_ai_creation",
}


@pytest.fixture(params=["image/jpeg", "image/png"])
def asset(request, photo_jpeg, photo_png):
    return request.param, photo_jpeg if request.param == "image/jpeg" else photo_png


@pytest.mark.parametrize("source_type", sorted(SOURCE_TYPES))
def test_round_trip_per_digital_source_type(asset, signer, trusting, source_type):
    mime, data = asset
    signed = sign(data, mime, signer, digital_source_type=source_type, title="t")
    report = provenance.read_credentials(signed, mime, trusting)
    assert report.present and report.status == "read"
    assert report.state == "trusted"
    assert report.failure_codes == ()
    assert report.ai_class == SOURCE_TYPES[source_type]
    assert report.evidence == (
        f"manifest {report.active_manifest}: c2pa.created digitalSourceType={source_type}",
    )
    assert report.signer.common_name == "test generator claim signer"
    assert report.claim_generator.startswith("aigc-provenance")


def test_unknown_signer_is_valid_not_trusted(photo_jpeg, signer):
    signed = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="trainedAlgorithmicMedia")
    report = provenance.read_credentials(signed, "image/jpeg")
    assert report.state == "valid"
    assert report.failure_codes == ("signingCredential.untrusted",)
    assert report.ai_class == "ai_generated"


def test_reencoding_strips_the_manifest(asset, signer, trusting):
    mime, data = asset
    signed = sign(data, mime, signer, digital_source_type="trainedAlgorithmicMedia")
    reencoded = encode(Image.open(io.BytesIO(signed)), "JPEG" if mime == "image/jpeg" else "PNG")
    report = provenance.read_credentials(reencoded, mime, trusting)
    assert report.present is False
    assert report.status == "absent"
    assert report.ai_class == "unknown"


def _flip_in_image_data(data: bytes, mime: str) -> bytes:
    # the middle of the entropy-coded scan (JPEG) or of the IDAT stream (PNG)
    start = data.rfind(b"\xff\xda") if mime == "image/jpeg" else data.find(b"IDAT")
    pos = start + (len(data) - start) // 2
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :]


def test_byte_flip_is_tampered_and_keeps_the_ai_claim_visible(asset, signer, trusting):
    mime, data = asset
    signed = sign(data, mime, signer, digital_source_type="trainedAlgorithmicMedia")
    report = provenance.read_credentials(_flip_in_image_data(signed, mime), mime, trusting)
    assert report.present
    assert report.state == "invalid"
    assert "assertion.dataHash.mismatch" in report.failure_codes
    assert report.ai_class == "ai_generated"


def test_ai_parent_resigned_by_a_second_tool_stays_ai_generated(
    photo_jpeg, signer, second_signer, trusting
):
    parent = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="trainedAlgorithmicMedia")
    child = sign(
        parent,
        "image/jpeg",
        second_signer,
        ingredients=(Ingredient(parent, "generated.jpg"),),
        actions=("c2pa.resized.proportional", "c2pa.edited.metadata"),
        title="laundered.jpg",
    )
    report = provenance.read_credentials(child, "image/jpeg", trusting)
    assert report.state == "trusted"
    assert report.manifest_count == 2
    assert report.signer.common_name == "test editor claim signer"
    assert report.ai_class == "ai_generated"
    assert "ingredient 'generated.jpg' (parentOf" in report.evidence[0]
    assert "trainedAlgorithmicMedia" in report.evidence[-1]


def test_editorial_generative_edit_of_a_capture_is_ai_edited(
    photo_jpeg, signer, second_signer, trusting
):
    capture = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="digitalCapture")
    edited = sign(
        capture,
        "image/jpeg",
        second_signer,
        ingredients=(Ingredient(capture, "camera.jpg"),),
        actions=(
            {"action": "c2pa.edited", "digitalSourceType": "compositeWithTrainedAlgorithmicMedia"},
        ),
    )
    report = provenance.read_credentials(edited, "image/jpeg", trusting)
    assert report.ai_class == "ai_edited"
    assert (
        "c2pa.edited digitalSourceType=compositeWithTrainedAlgorithmicMedia" in (report.evidence[0])
    )


def test_non_editorial_actions_do_not_change_a_capture(photo_jpeg, signer, second_signer, trusting):
    capture = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="digitalCapture")
    converted = sign(
        capture,
        "image/jpeg",
        second_signer,
        ingredients=(Ingredient(capture, "camera.jpg"),),
        # the rubric skips non-editorial actions whatever source type they name
        actions=(
            {"action": "c2pa.enhanced", "digitalSourceType": "trainedAlgorithmicMedia"},
            "c2pa.transcoded",
        ),
    )
    assert provenance.read_credentials(converted, "image/jpeg", trusting).ai_class == "capture"


def test_ai_component_placed_into_a_capture_makes_it_ai_edited(
    photo_jpeg, photo_png, signer, second_signer, trusting
):
    sticker = sign(photo_png, "image/png", signer, digital_source_type="trainedAlgorithmicMedia")
    composed = sign(
        photo_jpeg,
        "image/jpeg",
        second_signer,
        digital_source_type="digitalCapture",
        ingredients=(Ingredient(sticker, "sticker.png", relationship="componentOf"),),
    )
    report = provenance.read_credentials(composed, "image/jpeg", trusting)
    assert report.ai_class == "ai_edited"
    assert "'sticker.png' (componentOf" in report.evidence[0]


def test_tampered_parent_is_reported_as_a_failed_ingredient(
    photo_jpeg, signer, second_signer, trusting
):
    parent = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="trainedAlgorithmicMedia")
    tampered = _flip_in_image_data(parent, "image/jpeg")
    child = sign(
        tampered,
        "image/jpeg",
        second_signer,
        ingredients=(Ingredient(tampered, "parent.jpg"),),
        actions=("c2pa.resized.proportional",),
    )
    report = provenance.read_credentials(child, "image/jpeg", trusting)
    # the new manifest reads fine on its own; only the ingredient shows the tampering
    assert report.ai_class == "ai_generated"
    assert [f.title for f in report.ingredient_failures] == ["parent.jpg"]
    assert "assertion.dataHash.mismatch" in report.ingredient_failures[0].codes


def test_signing_errors_are_typed(photo_jpeg, signer):
    with pytest.raises(provenance.SigningError, match="nothing to claim"):
        sign(photo_jpeg, "image/jpeg", signer)
    with pytest.raises(provenance.UnsupportedFormat):
        sign(b"not an image", "image/jpeg", signer, digital_source_type="digitalCapture")
    bad = provenance.SignerCredentials(b"-----BEGIN CERTIFICATE-----\n", b"nope")
    with pytest.raises(provenance.SigningError):
        sign(photo_jpeg, "image/jpeg", bad, digital_source_type="digitalCapture")


def test_a_full_manifest_definition_is_signed_as_given(photo_jpeg, signer, trusting):
    definition = {
        "title": "platform label",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": provenance.signing.dst_uri(
                                "trainedAlgorithmicMedia"
                            ),
                        }
                    ]
                },
            }
        ],
    }
    signed = sign(photo_jpeg, "image/jpeg", signer, manifest=definition)
    report = provenance.read_credentials(signed, "image/jpeg", trusting)
    assert (report.state, report.ai_class) == ("trusted", "ai_generated")
    with pytest.raises(provenance.SigningError, match="not both"):
        sign(photo_jpeg, "image/jpeg", signer, manifest=definition, actions=("c2pa.edited",))
