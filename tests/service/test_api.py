"""Endpoint tests: the real app and labeler over httpx, on a real database."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time

import numpy as np
import pytest
from PIL import Image

import provenance
from labeler import ACTIONS
from service.db import session_scope
from service.db.audit import AuditImmutable, ScanRecord
from service.db.keys import create_key, revoke_key

from .conftest import SAMPLES
from .servers import metric_sample


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def upload(data: bytes, name: str = "photo.jpg", **fields):
    return {"files": {"file": (name, data)}, "data": fields}


def audit_count(url: str) -> int:
    from sqlalchemy import func, select

    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(ScanRecord))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


# --- scan and audit -------------------------------------------------------


def test_scan_returns_the_decision_and_stores_it_in_the_audit_trail(
    svc_client, svc_keys, svc_photo, svc_db_url
):
    response = svc_client.post(
        "/v1/scan",
        headers=auth(svc_keys["pipeline"]),
        **upload(
            svc_photo,
            creator_id="creator-7",
            creator_disclosed_ai="false",
            caption="Harbour at dusk",
            hashtags="harbour, dusk",
            sensitive_topics="",
            creator_history="1",
        ),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["scan_id"])
    assert body["elapsed_ms"] > 0
    decision = body["decision"]
    assert decision["action"] in ACTIONS
    assert decision["reasons"] and all("code" in r for r in decision["reasons"])
    assert decision["policy_version"]
    assert set(decision["signals"]) >= {"credentials", "watermark", "match", "errors"}
    assert decision["media"]["sha256"] == hashlib.sha256(svc_photo).hexdigest()

    stored = svc_client.get(f"/v1/scans/{body['scan_id']}", headers=auth(svc_keys["analyst"]))
    assert stored.status_code == 200, stored.text
    row = stored.json()
    assert row["scan_id"] == body["scan_id"]
    assert row["endpoint"] == "scan"
    assert row["sha256"] == hashlib.sha256(svc_photo).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", row["perceptual_hash"])
    assert row["decision"] == decision
    assert row["signals"] == decision["signals"]
    assert row["action"] == decision["action"]
    assert row["policy_version"] == decision["policy_version"]
    assert row["context"]["creator_id"] == "creator-7"
    assert row["context"]["creator_disclosed_ai"] is False
    assert row["context"]["hashtags"] == ["harbour", "dusk"]
    assert row["context"]["creator_history"] == 1
    assert row["mime"] == "image/jpeg"
    assert row["created_at"].endswith("+00:00")
    # the key id, never the key
    assert row["api_key_id"] and svc_keys["pipeline"] not in stored.text
    assert audit_count(svc_db_url) == 1


def test_scan_of_credentialed_ai_image_labels_it(svc_client, svc_keys):
    data = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
    response = svc_client.post("/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(data))
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["action"] == "label"
    assert decision["label"] == "ai_generated"
    assert "c2pa.ai_generated" in [r["code"] for r in decision["reasons"]]
    assert decision["signals"]["credentials"]["state"] in ("valid", "trusted")


def test_unknown_scan_is_404_json(svc_client, svc_keys):
    response = svc_client.get("/v1/scans/does-not-exist", headers=auth(svc_keys["analyst"]))
    assert_error(response, 404, "not_found")


def test_audit_rows_cannot_be_changed(svc_client, svc_keys, svc_photo, svc_db_url):
    scan_id = svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(svc_photo)
    ).json()["scan_id"]
    with pytest.raises(AuditImmutable), session_scope(svc_db_url) as session:
        session.get(ScanRecord, scan_id).action = "none-at-all"
    with pytest.raises(AuditImmutable), session_scope(svc_db_url) as session:
        session.delete(session.get(ScanRecord, scan_id))
    assert audit_count(svc_db_url) == 1


# --- authentication and roles ---------------------------------------------


def test_missing_malformed_unknown_and_revoked_keys_get_401(svc_client, svc_photo, svc_db_url):
    for headers in ({}, {"Authorization": "Basic abc"}, auth("aigc_not-a-real-key")):
        response = svc_client.post("/v1/scan", headers=headers, **upload(svc_photo))
        assert_error(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    info, secret = create_key("pipeline", url=svc_db_url)
    assert svc_client.post("/v1/scan", headers=auth(secret), **upload(svc_photo)).status_code == 200
    revoke_key(info.id, url=svc_db_url)
    response = svc_client.post("/v1/scan", headers=auth(secret), **upload(svc_photo))
    assert_error(response, 401, "unauthenticated")
    assert audit_count(svc_db_url) == 1


@pytest.mark.parametrize(
    ("method", "path", "allowed", "denied"),
    [
        ("post", "/v1/scan", "pipeline", ("creator", "analyst", "partner")),
        ("post", "/v1/label-check", "creator", ("pipeline", "analyst", "partner")),
        ("get", "/v1/scans/x", "analyst", ("pipeline", "creator", "partner")),
    ],
)
def test_wrong_role_gets_403_and_admin_passes(
    svc_client, svc_keys, svc_photo, method, path, allowed, denied
):
    kwargs = upload(svc_photo) if method == "post" else {}
    for role in denied:
        response = getattr(svc_client, method)(path, headers=auth(svc_keys[role]), **kwargs)
        body = assert_error(response, 403, "forbidden")
        assert role in body["error"]["message"]
    for role in (allowed, "admin"):
        response = getattr(svc_client, method)(path, headers=auth(svc_keys[role]), **kwargs)
        assert response.status_code in (200, 404), response.text  # 404: no scan "x"


# --- upload limits and bad input ------------------------------------------


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def test_bad_uploads_get_clear_4xx_and_write_nothing(svc_make_client, svc_keys, svc_db_url):
    client = svc_make_client(max_upload_bytes=300_000, max_pixels=2_000_000)
    key = auth(svc_keys["pipeline"])
    # type by content, not by name
    assert_error(
        client.post("/v1/scan", headers=key, **upload(b"%PDF-1.7 not media", "x.jpg")),
        415,
        "unsupported_media",
    )
    # decompression bomb: 8000 x 8000 of one colour is a small PNG, refused from its header
    bomb = _png(8000, 8000)
    assert len(bomb) < 300_000
    body = assert_error(
        client.post("/v1/scan", headers=key, **upload(bomb, "b.png")), 422, "media_too_large"
    )
    assert "pixels" in body["error"]["message"]
    # truncated JPEG
    jpeg = (SAMPLES / "no_credentials.jpg").read_bytes()
    assert_error(
        client.post("/v1/scan", headers=key, **upload(jpeg[:400], "t.jpg")),
        422,
        "media_undecodable",
    )
    assert_error(client.post("/v1/scan", headers=key, **upload(b"", "e.jpg")), 422, "empty_file")
    assert_error(
        client.post("/v1/scan", headers=key, **upload(jpeg, creator_disclosed_ai="maybe")),
        422,
        "invalid_context",
    )
    assert_error(
        client.post("/v1/scan", headers=key, **upload(jpeg, creator_history="lots")),
        422,
        "invalid_context",
    )
    assert_error(
        client.post("/v1/scan", headers=key, data={"caption": "x"}), 422, "invalid_request"
    )
    assert audit_count(svc_db_url) == 0
    # the service is still fine afterwards
    assert client.post("/v1/scan", headers=key, **upload(jpeg)).status_code == 200


def test_oversized_body_is_refused_with_413(svc_make_client, svc_keys, svc_db_url):
    client = svc_make_client(max_upload_bytes=100_000)
    key = auth(svc_keys["pipeline"])
    big = np.random.default_rng(1).integers(0, 255, (600, 600, 3), dtype=np.uint8)
    data = io.BytesIO()
    Image.fromarray(big).save(data, "PNG")
    assert len(data.getvalue()) > 200_000
    # declared length over the limit: refused before the body is read
    assert_error(
        client.post("/v1/scan", headers=key, **upload(data.getvalue(), "big.png")),
        413,
        "payload_too_large",
    )

    # no declared length (chunked): cut off once the limit is passed
    def chunks():
        boundary = b"--xyz"
        yield (
            boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        )
        for _ in range(64):
            yield b"\0" * 8192
        yield b"\r\n" + boundary + b"--\r\n"

    response = client.post(
        "/v1/scan",
        headers={**key, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=chunks(),
    )
    assert_error(response, 413, "payload_too_large")
    assert audit_count(svc_db_url) == 0


# --- label check ----------------------------------------------------------

ANSWER_KEYS = {
    "check_id",
    "action",
    "will_label",
    "label",
    "label_text",
    "disclosure_required",
    "under_review",
    "removed",
    "headline",
    "why",
    "text",
    "display",
}


def test_label_check_answers_in_plain_words_without_internals(svc_client, svc_keys, svc_db_url):
    data = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
    scan = svc_client.post("/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(data)).json()
    response = svc_client.post(
        "/v1/label-check", headers=auth(svc_keys["creator"]), **upload(data, creator_id="c-1")
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == ANSWER_KEYS
    assert answer["will_label"] is True
    assert answer["label"] == "ai_generated"
    assert answer["label_text"] == "AI-generated"
    assert answer["disclosure_required"] is False
    assert "Content Credentials" in answer["text"]
    # what people will be shown beside the upload
    assert answer["display"]["icon"] == "eu-common-ai-icon"
    assert answer["display"]["text"]["nl"] == "Gemaakt met AI"
    assert answer["display"]["source"].startswith("Content Credentials")
    # none of the analyst-facing detail that the scan answer carries
    credentials = scan["decision"]["signals"]["credentials"]
    for secret in (credentials["signer"], credentials["claim_generator"], *credentials["evidence"]):
        assert secret and secret not in response.text
    for word in ("signals", "evidence", "distance", "p_value", "entry_id", "threshold", "sha256"):
        assert word not in response.text
    assert not re.search(r"\d", answer["headline"] + " ".join(answer["why"]))
    # the check is audited like a scan
    row = svc_client.get(f"/v1/scans/{answer['check_id']}", headers=auth(svc_keys["analyst"]))
    assert row.json()["endpoint"] == "label-check"
    assert audit_count(svc_db_url) == 2


def test_label_check_is_rate_limited_per_key_and_per_creator(
    svc_make_client, svc_keys, svc_photo, svc_db_url
):
    client = svc_make_client(label_check_limit=2, label_check_window_s=60)
    key = auth(svc_keys["creator"])
    for _ in range(2):
        ok = client.post("/v1/label-check", headers=key, **upload(svc_photo, creator_id="c-9"))
        assert ok.status_code == 200, ok.text
    limited = client.post("/v1/label-check", headers=key, **upload(svc_photo, creator_id="c-9"))
    body = assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert "try again" in body["error"]["message"]
    # another key for the same creator shares the creator's budget ...
    _, other = create_key("creator", url=svc_db_url)
    again = client.post(
        "/v1/label-check", headers=auth(other), **upload(svc_photo, creator_id="c-9")
    )
    assert_error(again, 429, "rate_limited")
    # ... while another creator with another key is unaffected
    fresh = client.post(
        "/v1/label-check", headers=auth(other), **upload(svc_photo, creator_id="c-2")
    )
    assert fresh.status_code == 200
    # refused checks are not analysed, so not audited
    assert audit_count(svc_db_url) == 3


def test_open_creator_page_mode_needs_no_key_but_rejects_bad_ones(svc_make_client, svc_photo):
    closed = svc_make_client()
    assert_error(closed.post("/v1/label-check", **upload(svc_photo)), 401, "unauthenticated")
    opened = svc_make_client(creator_page_open=True)
    response = opened.post("/v1/label-check", **upload(svc_photo))
    assert response.status_code == 200, response.text
    assert set(response.json()) == ANSWER_KEYS
    bad = opened.post("/v1/label-check", headers=auth("aigc_wrong"), **upload(svc_photo))
    assert_error(bad, 401, "unauthenticated")
    # open means the creator endpoint only
    assert_error(opened.post("/v1/scan", **upload(svc_photo)), 401, "unauthenticated")


# --- health, metrics, docs, page ------------------------------------------


def test_health_and_readiness(svc_client):
    assert svc_client.get("/healthz").json() == {"status": "ok"}
    ready = svc_client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["engine"] == "ok"
    assert ready.json()["checks"]["bank_index"] == "ok"  # the (empty) bank index loads
    assert ready.json()["checks"]["trust_lists"] == "ok"


def test_a_trust_list_past_its_next_update_is_degraded_not_down(
    svc_make_client, monkeypatch, tmp_path
):
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = (provenance.trust.DATA_DIR / "C2PA-TRUST-LIST.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    service_info = {
        "ServiceDigitalIdentity": {"X509Certificates": [{"val": base64.b64encode(der).decode()}]}
    }
    stale = {
        "LoTE": {
            "ListAndSchemeInformation": {
                "SchemeName": [{"lang": "en", "value": "C2PA Trust List"}],
                "ListIssueDateTime": "2025-01-01T00:00:00Z",
                "NextUpdate": "2026-01-01T00:00:00Z",
            },
            "TrustedEntitiesList": [
                {"TrustedEntityServices": [{"ServiceInformation": service_info}]}
            ],
        }
    }
    (tmp_path / "C2PA-TRUST-LIST.json").write_text(json.dumps(stale))
    monkeypatch.setenv("AIGC_TRUST_LIST", str(tmp_path))
    ready = svc_make_client().get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["trust_lists"].startswith("degraded: past its next update")


def test_metrics_count_requests_latencies_and_decisions(svc_client, svc_keys, svc_photo):
    # an admin key may read the metrics (a scraper token is tested below)
    admin = auth(svc_keys["admin"])
    for _ in range(2):
        svc_client.post("/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(svc_photo))
    svc_client.post("/v1/scan", **upload(svc_photo))  # 401
    action = svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(svc_photo)
    ).json()["decision"]["action"]
    text = svc_client.get("/metrics", headers=admin).text
    ok = metric_sample(text, "aigc_http_requests_total", endpoint="/v1/scan", status="200")
    assert ok == 3
    assert metric_sample(text, "aigc_http_requests_total", endpoint="/v1/scan", status="401") == 1
    assert (
        metric_sample(
            text, "aigc_http_request_duration_seconds_count", endpoint="/v1/scan", method="POST"
        )
        == 4
    )
    assert metric_sample(text, "aigc_decisions_total", endpoint="/v1/scan", action=action) == 3
    assert "aigc_bank_entries" in text
    assert "aigc_scans_in_flight 0.0" in text


def test_openapi_documents_the_v1_endpoints_with_examples(svc_client):
    spec = svc_client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/scan", "/v1/label-check", "/v1/scans/{scan_id}", "/healthz", "/readyz"):
        assert path in paths
    scan = paths["/v1/scan"]["post"]
    assert "multipart/form-data" in scan["requestBody"]["content"]
    for status in ("401", "403", "413", "415", "422"):
        assert status in scan["responses"]
    assert "429" in paths["/v1/label-check"]["post"]["responses"]
    text = str(spec)
    assert "'examples'" in text and "c2pa.ai_generated" in text


def test_creator_page_and_assets_are_served(svc_make_client):
    page = svc_make_client().get("/check")
    assert page.status_code == 200
    assert 'data-open="false"' in page.text and "/static/check.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'data-open="true"' in svc_make_client(creator_page_open=True).get("/").text
    client = svc_make_client()
    assert client.get("/static/check.js").headers["content-type"].startswith("text/javascript")
    assert_error(client.get("/static/..%2Fcheck.html"), 404, "not_found")
    assert_error(client.get("/static/secret.py"), 404, "not_found")


def test_every_corpus_file_gets_a_decision_or_a_clear_4xx(svc_make_client, svc_keys, fixtures_dir):
    """The C2PA conformance corpus, hostile files included: never a 500, never a hang."""
    client = svc_make_client()
    key = auth(svc_keys["pipeline"])
    seen = {}
    for path in sorted(fixtures_dir.iterdir()):
        if not path.is_file() or path.suffix in (".md", ".pem", ".pub") or "LICENSE" in path.name:
            continue
        started = time.perf_counter()
        response = client.post("/v1/scan", headers=key, **upload(path.read_bytes(), path.name))
        elapsed = time.perf_counter() - started
        assert response.status_code in (200, 415, 422), (path.name, response.text)
        body = response.json()
        assert ("decision" in body) == (response.status_code == 200), path.name
        assert elapsed < 30, (path.name, elapsed)
        seen[path.name] = response.status_code
    assert seen["C.jpg"] == 200
    assert seen["riff_bomb_1000.wav"] == 415
    assert seen["nested_moov_1000.mp4"] in (200, 422)
    # the service still answers normally afterwards
    assert client.get("/healthz").status_code == 200


def test_an_analysis_past_its_deadline_is_abandoned_with_a_clear_error(
    svc_make_client, svc_keys, svc_db_url
):
    # 12 MP of noise cannot be decoded, hashed and judged in 100 ms (it takes ~0.5 s here),
    # while an idle scan thread starts in far less
    client = svc_make_client(scan_timeout_s=0.1, scan_concurrency=1)
    rgb = np.random.default_rng(3).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=80)
    response = client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(buf.getvalue(), "slow.jpg")
    )
    body = assert_error(response, 422, "analysis_timeout")
    assert "longer than" in body["error"]["message"]
    assert client.get("/healthz").status_code == 200
    assert audit_count(svc_db_url) == 0


def test_admins_create_list_and_revoke_keys_over_http(svc_client, svc_keys, svc_photo, svc_db_url):
    admin = auth(svc_keys["admin"])
    made = svc_client.post("/v1/keys", headers=admin, json={"role": "pipeline", "note": "edge"})
    assert made.status_code == 201, made.text
    new = made.json()
    assert new["role"] == "pipeline" and new["key"].startswith(new["hint"])
    scan = svc_client.post("/v1/scan", headers=auth(new["key"]), **upload(svc_photo))
    assert scan.status_code == 200
    listed = svc_client.get("/v1/keys", headers=admin)
    assert new["key"] not in listed.text
    assert new["id"] in [k["id"] for k in listed.json()]
    revoked = svc_client.delete(f"/v1/keys/{new['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = svc_client.post("/v1/scan", headers=auth(new["key"]), **upload(svc_photo))
    assert_error(after, 401, "unauthenticated")
    assert_error(svc_client.delete("/v1/keys/nope", headers=admin), 404, "not_found")
    bad = svc_client.post("/v1/keys", headers=admin, json={"role": "root"})
    assert_error(bad, 422, "invalid_role")
    for role in ("pipeline", "creator", "analyst", "partner"):
        denied = svc_client.post("/v1/keys", headers=auth(svc_keys[role]), json={"role": "admin"})
        assert_error(denied, 403, "forbidden")
    from service.db.audit import admin_events

    with session_scope(svc_db_url) as session:
        actions = [
            (e.action, e.target) for e in admin_events(session) if e.action.startswith("key.")
        ]
    assert actions == [("key.create", new["id"]), ("key.revoke", new["id"])]


def test_a_killed_analysis_process_is_replaced_and_counted_in_metrics(
    svc_client, svc_keys, svc_photo
):
    import os
    import signal
    import time

    admin = auth(svc_keys["admin"])
    runner = svc_client.app.state.runner
    assert svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(svc_photo)
    ).is_success
    text = svc_client.get("/metrics", headers=admin).text
    assert metric_sample(text, "aigc_analysis_process_restarts_total") == 0
    for process in runner.processes:  # the kernel's OOM killer, or an operator
        deadline = time.monotonic() + 30
        while not process.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    res = svc_client.post("/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(svc_photo))
    assert res.status_code == 200, res.text
    text = svc_client.get("/metrics", headers=admin).text
    assert metric_sample(text, "aigc_analysis_process_restarts_total") >= 1
