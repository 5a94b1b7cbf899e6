"""Embedding the platform's watermark over HTTP, checked with the real detector."""

from __future__ import annotations

import io
import secrets

import numpy as np
import pytest
from PIL import Image

from service.db import session_scope
from service.db.audit import admin_events

watermark = pytest.importorskip("watermark")
pytest.importorskip("service.app.routes.watermark")


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def svc_test_key_file(tmp_path):
    # a throw-away TEST key, made per run; real keys come from the operator's files
    path = tmp_path / "platform-test.key"
    key = secrets.token_bytes(32)
    path.write_text(key.hex() + "\n")
    return path, key


def test_embed_returns_marked_image_that_the_detector_reads(
    svc_make_client, svc_keys, svc_photo, svc_test_key_file, svc_db_url
):
    path, key = svc_test_key_file
    client = svc_make_client(
        platform_watermark_key_file=str(path), platform_watermark_key_id="platform-test"
    )
    response = client.post(
        "/v1/watermark/embed",
        headers=auth(svc_keys["partner"]),
        files={"file": ("p.jpg", svc_photo)},
        data={"payload": "00000000c0ffee01", "key": "ff" * 32},  # a request key is ignored
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-watermark-key-id"] == "platform-test"
    marked = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert marked.shape == (256, 256, 3)
    found = watermark.detect(marked, key)
    assert found.detected and found.payload == bytes.fromhex("00000000c0ffee01")
    original = np.asarray(Image.open(io.BytesIO(svc_photo)).convert("RGB"))
    assert not watermark.detect(original, key).detected
    with session_scope(svc_db_url) as session:
        events = admin_events(session, "watermark.embed")
    assert len(events) == 1
    assert events[0].detail["key_id"] == "platform-test"
    assert events[0].detail["payload"] == "00000000c0ffee01"


def test_embed_refuses_wrong_roles_bad_payloads_and_unconfigured_servers(
    svc_make_client, svc_keys, svc_photo, svc_test_key_file
):
    path, _key = svc_test_key_file
    client = svc_make_client(platform_watermark_key_file=str(path))
    files = {"file": ("p.jpg", svc_photo)}
    for role in ("pipeline", "creator", "analyst"):
        response = client.post(
            "/v1/watermark/embed",
            headers=auth(svc_keys[role]),
            files=files,
            data={"payload": "00" * 8},
        )
        assert response.status_code == 403
    for payload in ("xyz", "00" * 7, "00" * 9):
        response = client.post(
            "/v1/watermark/embed",
            headers=auth(svc_keys["admin"]),
            files=files,
            data={"payload": payload},
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_payload"
    not_media = client.post(
        "/v1/watermark/embed",
        headers=auth(svc_keys["partner"]),
        files={"file": ("x.png", b"not an image")},
        data={"payload": "00" * 8},
    )
    assert not_media.status_code == 415
    unconfigured = svc_make_client().post(
        "/v1/watermark/embed",
        headers=auth(svc_keys["partner"]),
        files=files,
        data={"payload": "00" * 8},
    )
    assert unconfigured.status_code == 503
    assert unconfigured.json()["error"]["code"] == "watermark_not_configured"
