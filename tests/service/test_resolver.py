"""The C2PA soft-binding resolution API under /c2pa, against renditions made over HTTP."""

from __future__ import annotations

import base64
import io
import json

import c2pa
import numpy as np
import pytest

from .conftest import SAMPLES, jpeg_bytes
from .test_renditions import AI_SAMPLE, auth, reshare, svc_platform  # noqa: F401

WATERMARK_ALG = "org.aigc-provenance.keyed-tile.1"


@pytest.fixture
def svc_rendition(svc_make_client, svc_keys, svc_platform):  # noqa: F811
    client = svc_make_client(**svc_platform[2])
    made = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("ai.jpg", AI_SAMPLE.read_bytes())},
    )
    assert made.status_code == 200, made.text
    return client, made


def test_supported_algorithms_name_our_mark_and_fingerprint(svc_rendition, svc_keys):
    client, _ = svc_rendition
    r = client.get("/c2pa/services/supportedAlgorithms", headers=auth(svc_keys["resolver"]))
    assert r.status_code == 200
    assert r.json() == {
        "watermarks": [{"alg": WATERMARK_ALG}],
        "fingerprints": [{"alg": "org.aigc-provenance.pdq.1"}],
    }


def test_by_binding_then_manifests_returns_the_store_c2pa_reads(svc_rendition, svc_keys):
    client, made = svc_rendition
    durable_id = made.headers["x-aigc-durable-id"]
    value = base64.b64encode(bytes.fromhex(durable_id)).decode()
    r = client.get(
        "/c2pa/matches/byBinding",
        params={"alg": WATERMARK_ALG, "value": value},
        headers=auth(svc_keys["resolver"]),
    )
    assert r.status_code == 200, r.text
    [match] = r.json()["matches"]
    assert match == {"manifestId": made.headers["x-c2pa-manifest-id"], "similarityScore": 100}
    store = client.get(f"/c2pa/manifests/{match['manifestId']}", headers=auth(svc_keys["resolver"]))
    assert store.status_code == 200
    assert store.headers["content-type"] == "application/c2pa"
    # the store is the rendition's own manifest: c2pa reads it beside the stripped file (the
    # hard binding no longer holds there; the soft binding names the id the mark carries)
    stripped = reshare(made.content)
    with c2pa.Reader("image/jpeg", io.BytesIO(stripped), manifest_data=store.content) as reader:
        read = json.loads(reader.json())
    assert read["active_manifest"] == match["manifestId"]
    assertions = read["manifests"][read["active_manifest"]]["assertions"]
    [binding] = [a["data"] for a in assertions if a["label"] == "c2pa.soft-binding"]
    assert binding["alg"] == WATERMARK_ALG and binding["blocks"][0]["value"] == value
    unknown = client.get(
        "/c2pa/matches/byBinding",
        params={"alg": WATERMARK_ALG, "value": base64.b64encode(bytes(8)).decode()},
        headers=auth(svc_keys["resolver"]),
    )
    assert unknown.json() == {"matches": []}


def test_by_content_finds_the_stripped_reshare_and_not_other_pictures(svc_rendition, svc_keys):
    client, made = svc_rendition
    manifest_id = made.headers["x-c2pa-manifest-id"]
    raw = client.post(
        "/c2pa/matches/byContent",
        content=reshare(made.content),
        headers={**auth(svc_keys["resolver"]), "content-type": "image/jpeg"},
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["matches"][0] == {"manifestId": manifest_id, "similarityScore": 100}
    other = client.post(
        "/c2pa/matches/byContent",
        files={"file": ("o.jpg", (SAMPLES / "no_credentials.jpg").read_bytes())},
        headers=auth(svc_keys["resolver"]),
    )
    assert other.status_code == 200 and other.json() == {"matches": []}
    # answers name manifests, nothing of marks, hashes or distances
    assert set(raw.json()) == {"matches"} and set(raw.json()["matches"][0]) <= {
        "manifestId",
        "similarityScore",
        "endpoint",
    }


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"alg": "com.example.other.1", "value": "AAAAAAAAAAA="}, "unsupported_algorithm"),
        ({"alg": WATERMARK_ALG, "value": "not base64!"}, "invalid_value"),
        ({"alg": WATERMARK_ALG, "value": base64.b64encode(bytes(9)).decode()}, "invalid_value"),
        ({"alg": WATERMARK_ALG}, "invalid_value"),
    ],
)
def test_bad_queries_are_422_with_a_code(svc_rendition, svc_keys, params, code):
    client, _ = svc_rendition
    r = client.get("/c2pa/matches/byBinding", params=params, headers=auth(svc_keys["resolver"]))
    assert r.status_code == 422 and r.json()["error"]["code"] == code


def test_a_hex_value_is_accepted_too(svc_rendition, svc_keys):
    client, made = svc_rendition
    r = client.get(
        "/c2pa/matches/byBinding",
        params={"alg": WATERMARK_ALG, "value": made.headers["x-aigc-durable-id"].upper()},
        headers=auth(svc_keys["resolver"]),
    )
    assert r.json()["matches"][0]["manifestId"] == made.headers["x-c2pa-manifest-id"]


def test_bad_content_and_unknown_manifests(svc_rendition, svc_keys):
    client, _ = svc_rendition
    h = auth(svc_keys["resolver"])
    r = client.post("/c2pa/matches/byContent", content=b"%PDF-1.7", headers=h)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media"
    r = client.post("/c2pa/matches/byContent", content=b"", headers=h)
    assert r.status_code == 422
    r = client.get("/c2pa/manifests/urn:c2pa:00000000-0000-0000-0000-000000000000", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_the_resolver_needs_its_role_unless_open(svc_make_client, svc_keys, svc_platform):  # noqa: F811
    closed = svc_make_client(**svc_platform[2])
    assert closed.get("/c2pa/services/supportedAlgorithms").status_code == 401
    r = closed.get("/c2pa/services/supportedAlgorithms", headers=auth(svc_keys["pipeline"]))
    assert r.status_code == 403
    opened = svc_make_client(**svc_platform[2], resolver_open=True)
    assert opened.get("/c2pa/services/supportedAlgorithms").status_code == 200


def test_resolver_queries_are_rate_limited(svc_make_client, svc_keys, svc_platform):  # noqa: F811
    client = svc_make_client(**svc_platform[2], label_check_limit=2)
    h = auth(svc_keys["resolver"])
    codes = [
        client.get("/c2pa/services/supportedAlgorithms", headers=h).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_a_byContent_upload_over_the_limit_is_413(svc_make_client, svc_keys, svc_platform):  # noqa: F811
    client = svc_make_client(**svc_platform[2], max_upload_bytes=20_000)
    big = jpeg_bytes(np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8))
    r = client.post(
        "/c2pa/matches/byContent",
        content=big,
        headers={**auth(svc_keys["resolver"]), "content-type": "image/jpeg"},
    )
    assert r.status_code == 413
