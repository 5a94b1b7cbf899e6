"""Renditions over HTTP: the platform's mark, its signed manifest, and the loop back to a label."""

from __future__ import annotations

import base64
import io
import json
import re
import secrets

import c2pa
import numpy as np
import pytest
from PIL import Image

import provenance
import watermark
from service.db import session_scope
from service.db.manifests import get_record

from .conftest import SAMPLES, jpeg_bytes

AI_SAMPLE = SAMPLES / "ai_generated_credentials.jpg"


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def svc_platform(tmp_path, monkeypatch):
    """A TEST platform watermark key and a development CA made for this run."""
    key = secrets.token_bytes(32)
    key_file = tmp_path / "platform-TEST.key"
    key_file.write_text(key.hex() + "\n")
    ca = provenance.create_dev_ca(tmp_path / "dev-ca", name="platform test")
    # the platform's own anchor: its renditions read Trusted
    monkeypatch.setenv("AIGC_TRUST_ANCHORS", str(ca.root_cert))
    settings = {
        "platform_watermark_key_file": str(key_file),
        "platform_signing_cert": str(ca.signer_chain),
        "platform_signing_key": str(ca.signer_key),
    }
    return key, ca, settings


def rgb_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def reshare(data: bytes) -> bytes:
    """Downloaded and re-shared: 720 px long side, JPEG 75, every byte of metadata gone."""
    image = Image.fromarray(rgb_of(data))
    scale = 720 / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=75)
    return buf.getvalue()


def c2pa_read(data: bytes, mime: str, anchor: bytes) -> dict:
    ctx = c2pa.Context.from_dict(
        {
            "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
            "trust": {
                "trust_anchors": anchor.decode(),
                "trust_config": "\n".join(provenance.DEFAULT_EKUS),
            },
        }
    )
    with c2pa.Reader(mime, io.BytesIO(data), context=ctx) as reader:
        return json.loads(reader.json())


def test_rendition_carries_the_mark_and_a_trusted_manifest_with_its_ingredient(
    svc_make_client, svc_keys, svc_platform, svc_db_url
):
    key, ca, settings = svc_platform
    client = svc_make_client(**settings)
    upload = AI_SAMPLE.read_bytes()
    response = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("ai.jpg", upload)},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    durable_id = response.headers["x-aigc-durable-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", durable_id)
    served = response.content
    # the mark: the durable id is its payload
    found = watermark.detect(rgb_of(served), key)
    assert found.detected and found.payload.hex() == durable_id
    # PSNR of the served file against the upload
    a, b = rgb_of(served).astype(float), rgb_of(upload).astype(float)
    assert 10 * np.log10(255**2 / np.mean((a - b) ** 2)) >= 42.0
    # c2pa-python itself: Trusted with the platform's anchor, the upload's manifest as parent
    store = c2pa_read(served, "image/jpeg", ca.root_cert.read_bytes())
    assert store["validation_state"] == "Trusted"
    active = store["manifests"][store["active_manifest"]]
    assert active["signature_info"]["common_name"].startswith("platform test")
    [parent] = active["ingredients"]
    assert parent["relationship"] == "parentOf" and parent["active_manifest"] in store["manifests"]
    assertions = {a["label"]: a["data"] for a in active["assertions"]}
    binding = assertions["c2pa.soft-binding"]
    assert base64.b64decode(binding["blocks"][0]["value"]).hex() == durable_id
    actions = [a["action"] for a in assertions["c2pa.actions.v2"]["actions"]]
    assert actions == ["c2pa.opened", "c2pa.watermarked"]
    assert response.headers["x-c2pa-manifest-id"] == store["active_manifest"]
    # our own reader agrees, and the repository holds the record
    report = provenance.read_credentials(served, "image/jpeg", provenance.Settings.from_env())
    assert report.state == "trusted" and report.ai_class == "ai_generated"
    with session_scope(svc_db_url) as session:
        row = get_record(session, durable_id)
        assert row.manifest_id == store["active_manifest"]
        assert row.ai_class == "ai_generated" and row.label == "ai_generated"
        assert row.credentials["ai_class"] == "ai_generated"
        assert row.decision["label"] == "ai_generated" and len(row.pdq) == 64
        assert row.features and row.created_by is not None


def test_the_stripped_reshare_of_a_rendition_is_labelled_by_recovered_credentials(
    svc_make_client, svc_keys, svc_platform
):
    _key, _ca, settings = svc_platform
    client = svc_make_client(**settings)
    made = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("ai.jpg", AI_SAMPLE.read_bytes())},
    )
    assert made.status_code == 200, made.text
    again = reshare(made.content)
    assert provenance.read_credentials(again, "image/jpeg").present is False
    scanned = client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), files={"file": ("re.jpg", again)}
    )
    decision = scanned.json()["decision"]
    assert decision["action"] == "label" and decision["label"] == "ai_generated"
    assert [r["code"] for r in decision["reasons"]] == ["c2pa.recovered"]
    recovered = decision["signals"]["recovered"]
    assert recovered["recovered"] and recovered["durable_id"] == made.headers["x-aigc-durable-id"]
    # the creator hears it in plain words, with nothing of the mark's internals
    checked = client.post(
        "/v1/label-check", headers=auth(svc_keys["creator"]), files={"file": ("re.jpg", again)}
    )
    body = checked.json()
    assert body["will_label"] and "earlier upload" in " ".join(body["why"])
    assert made.headers["x-aigc-durable-id"] not in checked.text


def test_renditions_of_one_upload_get_different_random_ids(svc_make_client, svc_keys, svc_platform):
    client = svc_make_client(**svc_platform[2])
    from skimage import data

    photo = jpeg_bytes(np.asarray(Image.fromarray(data.coffee()).resize((480, 320))))
    ids = set()
    for _ in range(2):
        r = client.post(
            "/v1/renditions", headers=auth(svc_keys["pipeline"]), files={"file": ("c.jpg", photo)}
        )
        assert r.status_code == 200, r.text
        ids.add(r.headers["x-aigc-durable-id"])
    assert len(ids) == 2


def test_a_rendition_records_the_decision_of_its_scan(svc_make_client, svc_keys, svc_platform):
    client = svc_make_client(**svc_platform[2])
    upload = AI_SAMPLE.read_bytes()
    scan = client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), files={"file": ("ai.jpg", upload)}
    ).json()
    ok = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("ai.jpg", upload)},
        data={"scan_id": scan["scan_id"]},
    )
    assert ok.status_code == 200, ok.text
    other = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("x.jpg", (SAMPLES / "no_credentials.jpg").read_bytes())},
        data={"scan_id": scan["scan_id"]},
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "scan_mismatch"
    missing = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("ai.jpg", upload)},
        data={"scan_id": "0" * 32},
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("drop", "variable"),
    [
        ("platform_signing_cert", "AIGC_PLATFORM_SIGNING_CERT"),
        ("platform_signing_key", "AIGC_PLATFORM_SIGNING_KEY"),
        ("platform_watermark_key_file", "AIGC_PLATFORM_WATERMARK_KEY_FILE"),
    ],
)
def test_missing_configuration_is_503_naming_the_variable(
    svc_make_client, svc_keys, svc_platform, drop, variable
):
    settings = {k: v for k, v in svc_platform[2].items() if k != drop}
    client = svc_make_client(**settings)
    r = client.post(
        "/v1/renditions",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("ai.jpg", AI_SAMPLE.read_bytes())},
    )
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "not_configured"
    assert variable in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "payload",
    [
        b"GIF89a" + bytes(64),
        b"%PDF-1.7 not an image",
        (SAMPLES.parent / "README.md").read_bytes()[:200],
    ],
)
def test_an_unsupported_file_is_415(svc_make_client, svc_keys, svc_platform, payload):
    client = svc_make_client(**svc_platform[2])
    r = client.post(
        "/v1/renditions", headers=auth(svc_keys["pipeline"]), files={"file": ("f.bin", payload)}
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media"


def test_renditions_need_a_pipeline_key(svc_make_client, svc_keys, svc_platform):
    client = svc_make_client(**svc_platform[2])
    files = {"file": ("ai.jpg", AI_SAMPLE.read_bytes())}
    assert client.post("/v1/renditions", files=files).status_code == 401
    r = client.post("/v1/renditions", headers=auth(svc_keys["creator"]), files=files)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_an_image_below_the_mark_minimum_is_422(svc_make_client, svc_keys, svc_platform):
    client = svc_make_client(**svc_platform[2])
    tiny = jpeg_bytes(np.full((100, 120, 3), 128, np.uint8))
    r = client.post(
        "/v1/renditions", headers=auth(svc_keys["pipeline"]), files={"file": ("t.jpg", tiny)}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "cannot_watermark"


def test_a_jpeg_rendition_holds_42_db_even_where_q100_alone_does_not():
    """Noisy pictures lose more to JPEG rounding: the mark is softened, not served short."""
    from PIL import Image

    from service.durable import rendition

    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (256, 256, 3)).astype(np.uint8)
    change = rng.normal(0, 1.99, original.shape)  # the mark's budget: ~42.1 dB
    marked = np.clip(np.rint(original + change), 0, 255).astype(np.uint8)
    # the quality ladder alone ends under the floor on this picture
    assert rendition._jpeg(Image.fromarray(marked), 100, original)[1] < rendition.MIN_PSNR
    data, psnr = rendition._encode(marked, original, "image/jpeg")
    assert psnr >= rendition.MIN_PSNR
    assert rendition.psnr_of(rendition._full_pixels(data), original) == psnr
