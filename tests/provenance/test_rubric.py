"""The Asset Rubrics walk on manifest stores written by hand (the shape Reader.json() gives)."""

from __future__ import annotations

import pytest

import provenance
from provenance.rubric import IPTC, classify


def manifest(*actions, ingredients=(), label_suffix=""):
    return {
        "assertions": [
            {"label": "c2pa.actions" + label_suffix, "data": {"actions": list(actions)}}
        ],
        "ingredients": list(ingredients),
    }


def created(dst):
    return {"action": "c2pa.created", "digitalSourceType": IPTC + dst}


def test_ingredient_with_its_own_source_type_and_no_manifest():
    store = {
        "active_manifest": "m",
        "manifests": {
            "m": manifest(
                {"action": "c2pa.opened"},
                ingredients=[
                    {
                        "title": "gen.png",
                        "relationship": "parentOf",
                        "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                    }
                ],
            )
        },
    }
    result = classify(store)
    assert result.ai_class == "ai_generated"
    assert (
        "ingredient 'gen.png' (parentOf) digitalSourceType=trainedAlgorithmicMedia"
        in (result.evidence[0])
    )


def test_a_cycle_in_the_ingredient_graph_terminates():
    store = {
        "active_manifest": "a",
        "manifests": {
            "a": manifest(
                created("digitalCapture"),
                ingredients=[{"title": "b", "relationship": "parentOf", "active_manifest": "b"}],
            ),
            "b": manifest(
                {"action": "c2pa.edited", "digitalSourceType": IPTC + "digitalArt"},
                ingredients=[{"title": "a", "relationship": "parentOf", "active_manifest": "a"}],
            ),
        },
    }
    assert classify(store).ai_class == "possibly_ai"


def test_v1_and_numbered_action_assertions_are_read():
    store = {
        "active_manifest": "m",
        "manifests": {"m": manifest(created("trainedAlgorithmicMedia"), label_suffix="__1")},
    }
    assert classify(store).ai_class == "ai_generated"


def test_strongest_evidence_wins_and_capture_stays_capture():
    capture_then_crop = {
        "active_manifest": "m",
        "manifests": {"m": manifest(created("digitalCapture"), {"action": "c2pa.cropped"})},
    }
    assert classify(capture_then_crop).ai_class == "capture"
    genai_edit = {
        "active_manifest": "m",
        "manifests": {
            "m": manifest(
                created("digitalCapture"),
                {"action": "c2pa.filtered", "digitalSourceType": IPTC + "compositeSynthetic"},
            )
        },
    }
    assert classify(genai_edit).ai_class == "ai_edited"


def test_no_active_manifest_is_unknown():
    assert classify({"manifests": {}}).ai_class == "unknown"
    assert classify({"active_manifest": "x", "manifests": {}}).ai_class == "unknown"


def test_settings_accept_lists_and_stay_hashable(tmp_path):
    settings = provenance.Settings(operator_anchors=[tmp_path / "a.pem"], allowed_manifest_hosts=[])
    assert settings.operator_anchors == (str(tmp_path / "a.pem"),)
    assert hash(settings) == hash(provenance.Settings(operator_anchors=(str(tmp_path / "a.pem"),)))


def _store(actions, assertions=()):
    manifest = {
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}, *assertions]
    }
    return {"active_manifest": "m", "manifests": {"m": manifest}}


@pytest.mark.parametrize(
    "dst, ai_class, rubric_class",
    [
        ("trainedAlgorithmicMedia", "ai_generated", "fullyGenAIMedia"),
        (
            "http://c2pa.org/digitalsourcetype/trainedAlgorithmicData",
            "ai_generated",
            "fullyGenAIMedia",
        ),
        ("compositeWithTrainedAlgorithmicMedia", "ai_edited", "partlyGenAICreation"),
        ("compositeSynthetic", "ai_edited", "partlyGenAICreation"),
        ("composite", "possibly_ai", "compositionMayContainGenAI"),
        ("screenCapture", "possibly_ai", "screenCaptureMayContainGenAI"),
        ("digitalCapture", "capture", "capturedMedia"),
        ("computationalCapture", "capture", "capturedMedia"),
        ("compositeCapture", "capture", "capturedMediaStitched"),
        ("digitalCreation", "non_ai_creation", "nonGenAIDigitalCreation"),
        ("algorithmicMedia", "non_ai_creation", "nonGenAIDigitalCreation"),
        ("dataDrivenMedia", "non_ai_creation", "nonGenAIDigitalCreation"),
        ("http://c2pa.org/digitalsourcetype/empty", "non_ai_creation", "blankCanvas"),
    ],
)
def test_every_source_type_maps_to_an_asset_rubrics_class(dst, ai_class, rubric_class):
    uri = dst if dst.startswith("http") else IPTC + dst
    # padded the way some writers pad it
    result = classify(_store([{"action": "c2pa.created", "digitalSourceType": f" {uri}"}]))
    assert (result.ai_class, result.rubric_class) == (ai_class, rubric_class)


def test_transformations_have_their_rubric_signal():
    genai = {"action": "c2pa.edited", "digitalSourceType": IPTC + "trainedAlgorithmicMedia"}
    created = {"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}
    result = classify(_store([created, genai]))
    assert (result.ai_class, result.rubric_class) == ("ai_edited", "perceptibleGenAI")


@pytest.mark.parametrize(
    "data, ai_class",
    [
        ({"digitalSourceType": IPTC + "trainedAlgorithmicMedia"}, "ai_generated"),
        ({"aiModified": True}, "ai_edited"),
        ({}, "possibly_ai"),
    ],
)
def test_the_ai_disclosure_assertion_is_read(data, ai_class):
    created = {"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}
    store = _store([created], [{"label": "c2pa.ai-disclosure", "data": data}])
    result = classify(store)
    assert result.ai_class == ai_class
    assert any("c2pa.ai-disclosure" in line for line in result.evidence)
