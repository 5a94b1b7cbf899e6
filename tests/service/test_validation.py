"""Bad input of every kind gets a clear 4xx in the error shape, and the OpenAPI says so.

The cases are the ones an attacker's test found against a real server:
integers past the database's range, NUL bytes and huge paths, repeated form
parts, object addresses in messages, and an open /metrics.
"""

from __future__ import annotations

import pytest

from labeler import MediaDecodeError
from labeler.errors import redact_addresses
from service.settings import Settings

from .test_api import assert_error, auth, upload

PNG_HEADER_ONLY = b"\x89PNG\r\n\x1a\n" + b"\0" * 64  # sniffs as PNG, Pillow cannot open it


# --- integers and strings within bounds -----------------------------------------


def test_integers_past_the_database_range_are_422_not_500(svc_client, svc_keys):
    admin = auth(svc_keys["admin"])
    for params in (
        {"page": 9223372036854775807},
        {"page": 10**30},
        {"page": 0},
        {"per_page": 1001},
        {"state": "sometimes"},
        {"category": "x" * 65},
        {"source": "a\x00b"},
    ):
        response = svc_client.get("/v1/bank/entries", headers=admin, params=params)
        assert_error(response, 422, "invalid_request")
    for entry_id in ("99999999999999999999", "9223372036854775807", "2147483648", "0", "-1"):
        response = svc_client.delete(f"/v1/bank/entries/{entry_id}", headers=admin)
        assert_error(response, 422, "invalid_request")
    # the largest id the column holds is a plain miss
    assert_error(
        svc_client.delete("/v1/bank/entries/2147483647", headers=admin), 404, "entry_not_found"
    )
    # the page past the last one is empty, not an error
    last = svc_client.get("/v1/bank/entries", headers=admin, params={"page": 1_000_000})
    assert last.status_code == 200 and last.json()["items"] == []


def test_nul_bytes_and_oversized_text_are_refused_in_every_field(svc_client, svc_keys, svc_photo):
    pipeline, admin = auth(svc_keys["pipeline"]), auth(svc_keys["admin"])
    for field, value in (
        ("caption", "sunset\x00"),
        ("creator_id", "c\x00"),
        ("hashtags", "a,\x00"),
        ("caption", "x" * 5001),
        ("creator_history", "1" * 7),
        ("creator_disclosed_ai", "maybe"),
    ):
        response = svc_client.post(
            "/v1/scan", headers=pipeline, **upload(svc_photo, **{field: value})
        )
        body = assert_error(response, 422, "invalid_context")
        assert field in body["error"]["message"]
    body = assert_error(
        svc_client.post("/v1/scan", headers=pipeline, **upload(svc_photo, caption="a\x00")),
        422,
        "invalid_context",
    )
    assert "NUL" in body["error"]["message"]
    for json in ({"role": "pipeline", "note": "n\x00"}, {"role": "pipeline", "note": "x" * 201}):
        assert_error(svc_client.post("/v1/keys", headers=admin, json=json), 422, "invalid_request")
    assert_error(
        svc_client.post("/v1/keys", headers=admin, json={"role": "root"}), 422, "invalid_role"
    )
    bank = {"pdq": "ab" * 32, "category": "known_aigc"}
    for extra in ({"note": "\x00"}, {"external_id": "e" * 257}, {"severity": "extreme"}):
        response = svc_client.post("/v1/bank/entries", headers=admin, data={**bank, **extra})
        assert_error(response, 422, "invalid_request")
    for bad_id in ("a%00b", "x" * 65, "a.b"):
        response = svc_client.get(f"/v1/scans/{bad_id}", headers=auth(svc_keys["analyst"]))
        assert_error(response, 422, "invalid_request")
        assert_error(svc_client.delete(f"/v1/keys/{bad_id}", headers=admin), 422, "invalid_request")
    for query in (
        {"signal_type": "md5", "signal": "ab" * 32},
        {"signal_type": "pdq", "signal": "ab"},
    ):
        response = svc_client.get("/m/lookup", headers=admin, params=query)
        assert_error(response, 422, "invalid_request")


def test_a_body_that_is_not_what_it_claims_is_422(svc_client, svc_keys):
    admin = {**auth(svc_keys["admin"]), "Content-Type": "application/json"}
    for content in (b"\xff\xfe{", b'{"role": ', b"[1, 2"):
        response = svc_client.post("/v1/keys", headers=admin, content=content)
        assert_error(response, 422, "invalid_request")


# --- one part per field ---------------------------------------------------------


def test_two_file_parts_are_refused_not_scanned_silently(
    svc_client, svc_keys, svc_photo, svc_db_url
):
    from .test_api import audit_count

    files = [("file", ("a.jpg", svc_photo)), ("file", ("b.png", PNG_HEADER_ONLY))]
    for path, role in (("/v1/scan", "pipeline"), ("/v1/label-check", "creator")):
        response = svc_client.post(path, headers=auth(svc_keys[role]), files=files)
        body = assert_error(response, 422, "invalid_request")
        assert "exactly one `file`" in body["error"]["message"] and "2" in body["error"]["message"]
    twice = svc_client.post(
        "/v1/scan",
        headers=auth(svc_keys["pipeline"]),
        files={"file": ("a.jpg", svc_photo)},
        data={"caption": ["one", "two"]},
    )
    assert (
        "exactly one `caption`" in assert_error(twice, 422, "invalid_request")["error"]["message"]
    )
    bank = svc_client.post(
        "/v1/bank/entries",
        headers=auth(svc_keys["admin"]),
        data={"pdq": ["ab" * 32, "cd" * 32], "category": "known_aigc"},
    )
    assert_error(bank, 422, "invalid_request")
    assert audit_count(svc_db_url) == 0


def test_two_file_parts_are_refused_by_the_watermark_endpoint(
    svc_make_client, svc_keys, svc_photo, tmp_path
):
    key_file = tmp_path / "k.hex"
    key_file.write_text("11" * 32)
    client = svc_make_client(platform_watermark_key_file=str(key_file))
    response = client.post(
        "/v1/watermark/embed",
        headers=auth(svc_keys["partner"]),
        files=[("file", ("a.jpg", svc_photo)), ("file", ("b.jpg", svc_photo))],
        data={"payload": "00" * 8},
    )
    assert_error(response, 422, "invalid_request")


# --- no object addresses in messages ---------------------------------------------


def test_a_hostile_file_error_quotes_no_object_address(svc_client, svc_keys):
    response = svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), **upload(PNG_HEADER_ONLY, "x.png")
    )
    message = assert_error(response, 422, "media_undecodable")["error"]["message"]
    assert " at 0x" not in message and "object" not in message


def test_addresses_are_redacted_but_file_offsets_are_kept():
    text = "cannot identify image file <_io.BytesIO object at 0x7f3a2c1b9e80>; bad marker at 0x1F"
    assert (
        redact_addresses(text)
        == "cannot identify image file <_io.BytesIO object>; bad marker at 0x1F"
    )
    assert str(MediaDecodeError("<function f at 0xdeadbeef> failed")) == "<function f> failed"


# --- /metrics -------------------------------------------------------------------


def test_metrics_are_closed_unless_configured(svc_make_client, svc_keys):
    token = "scrape-" + "t" * 24
    closed = svc_make_client()
    body = assert_error(closed.get("/metrics"), 401, "unauthenticated")
    assert "token" in body["error"]["message"]
    assert closed.get("/metrics", headers=auth(svc_keys["admin"])).status_code == 200
    assert_error(closed.get("/metrics", headers=auth(svc_keys["analyst"])), 403, "forbidden")

    with_token = svc_make_client(metrics_token=token)
    response = with_token.get("/metrics", headers=auth(token))
    assert response.status_code == 200 and "aigc_bank_entries" in response.text
    assert_error(with_token.get("/metrics", headers=auth(token + "x")), 401, "unauthenticated")
    assert_error(with_token.get("/metrics"), 401, "unauthenticated")

    assert svc_make_client(metrics_open=True).get("/metrics").status_code == 200


def test_new_settings_read_from_the_environment_with_clear_errors(monkeypatch):
    monkeypatch.setenv("AIGC_METRICS_TOKEN", "s" * 32)
    monkeypatch.setenv("AIGC_BATCH_UPLOAD_RETENTION_S", "3600")
    settings = Settings.from_env()
    assert settings.metrics_token == "s" * 32 and settings.batch_upload_retention_s == 3600
    assert not settings.metrics_open
    for name, value, words in (
        ("AIGC_BATCH_UPLOAD_RETENTION_S", "soon", "must be an integer"),
        ("AIGC_BATCH_UPLOAD_RETENTION_S", "5", "at least 60"),
        ("AIGC_METRICS_TOKEN", "short", "at least 16"),
        ("AIGC_METRICS_OPEN", "1", "contradict"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=words) as caught:
            Settings.from_env()
        assert name in str(caught.value)
        monkeypatch.setenv("AIGC_BATCH_UPLOAD_RETENTION_S", "3600")
        monkeypatch.setenv("AIGC_METRICS_TOKEN", "s" * 32)


# --- the OpenAPI document says all of it ------------------------------------------


def _param(operation: dict, name: str) -> dict:
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


def _body(spec: dict, operation: dict) -> dict:
    ref = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    name = ref["$ref"].rsplit("/", 1)[1]
    return {**spec["components"]["schemas"][name], "oneOf": ref.get("oneOf")}


def test_openapi_publishes_bounds_enums_and_one_of(svc_client):
    spec = svc_client.get("/openapi.json").json()
    paths = spec["paths"]
    listing = paths["/v1/bank/entries"]["get"]
    assert _param(listing, "page")["maximum"] == 1_000_000
    assert _param(listing, "per_page")["maximum"] == 1000
    assert _param(listing, "state")["enum"] == ["active", "removed", "all"]
    entry_id = _param(paths["/v1/bank/entries/{entry_id}"]["delete"], "entry_id")
    assert (entry_id["minimum"], entry_id["maximum"]) == (1, 2**31 - 1)
    role = spec["components"]["schemas"]["NewKeyRequest"]["properties"]["role"]
    assert set(role["enum"]) >= {"pipeline", "creator", "analyst", "admin", "partner"}
    batch = _body(spec, paths["/v1/batch"]["post"])
    assert batch["oneOf"] == [{"required": ["path"]}, {"required": ["file"]}]
    path_field = next(s for s in batch["properties"]["path"]["anyOf"] if s["type"] == "string")
    assert path_field["maxLength"] == 4096 and "x00" in path_field["pattern"]
    bank = _body(spec, paths["/v1/bank/entries"]["post"])
    assert bank["oneOf"] == [{"required": ["file"]}, {"required": ["pdq"]}]
    pdq = next(s for s in bank["properties"]["pdq"]["anyOf"] if s["type"] == "string")
    assert pdq["pattern"] == "^[0-9A-Fa-f]{64}$"


def test_openapi_documents_every_error_status_with_the_error_body(svc_client):
    spec = svc_client.get("/openapi.json").json()
    expected = {
        ("post", "/v1/scan"): {"401", "403", "413", "415", "422", "503"},
        ("post", "/v1/label-check"): {"401", "403", "413", "415", "422", "429", "503"},
        ("get", "/v1/scans/{scan_id}"): {"401", "403", "404", "422"},
        ("post", "/v1/keys"): {"401", "403", "422"},
        ("delete", "/v1/keys/{key_id}"): {"401", "403", "404", "422"},
        ("post", "/v1/bank/entries"): {"401", "403", "409", "413", "415", "422"},
        ("delete", "/v1/bank/entries/{entry_id}"): {"401", "403", "404", "422"},
        ("post", "/v1/watermark/embed"): {"401", "403", "413", "415", "422", "503"},
        ("post", "/v1/batch"): {"401", "403", "404", "413", "415", "422"},
        ("get", "/v1/batch/{job_id}"): {"401", "403", "404", "422"},
        ("get", "/v1/batch/{job_id}/report"): {"401", "403", "404", "422"},
        ("get", "/metrics"): {"401", "403"},
    }
    error_ref = "#/components/schemas/ErrorBody"
    for (method, path), statuses in expected.items():
        responses = spec["paths"][path][method]["responses"]
        assert statuses <= set(responses), (method, path, statuses - set(responses))
        for status in statuses:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": error_ref}, (method, path, status)
