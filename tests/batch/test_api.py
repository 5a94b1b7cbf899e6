"""The batch endpoints through the real app: roles, uploads, server-side paths, reports."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.app.settings import Settings
from service.db.base import database_url
from service.db.keys import create_key
from service.db.models import ensure_schema

from .conftest import image_bytes, make_folder


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGC_BATCH_DIR", str(tmp_path / "batchdata"))
    monkeypatch.setenv("AIGC_BATCH_WORKERS", "1")
    url = database_url()  # explicit: get_engine(None) caches the first test's database
    ensure_schema(url)
    keys = {role: create_key(role, url=url)[1] for role in ("analyst", "pipeline")}
    with TestClient(create_app(Settings()), raise_server_exceptions=False) as client:
        yield client, keys


def _auth(key):
    return {"Authorization": f"Bearer {key}"}


def _wait(client, key, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/batch/{job_id}", headers=_auth(key)).json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_uploaded_archive_runs_in_the_background_and_reports(api):
    client, keys = api
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/one.jpg", image_bytes("coffee"))
        zf.writestr("two.png", image_bytes("camera", "PNG"))
        zf.writestr("../evil.jpg", image_bytes("coffee"))
    started = client.post(
        "/v1/batch",
        files={"file": ("set.zip", buf.getvalue(), "application/zip")},
        headers=_auth(keys["analyst"]),
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    body = _wait(client, keys["analyst"], job_id)
    assert (body["status"], body["total"], body["done"], body["failed"]) == ("done", 3, 3, 1)
    assert body["actions"] == {"none": 2} or sum(body["actions"].values()) == 2

    csv_report = client.get(f"/v1/batch/{job_id}/report?format=csv", headers=_auth(keys["analyst"]))
    assert csv_report.status_code == 200
    assert csv_report.headers["content-type"].startswith("text/csv")
    lines = csv_report.text.splitlines()
    assert lines[0].startswith("path,status,action") and len(lines) == 4
    assert any(line.startswith("../evil.jpg,skipped") for line in lines)
    html = client.get(f"/v1/batch/{job_id}/report", headers=_auth(keys["analyst"]))
    assert html.status_code == 200 and html.text.count("data:image/jpeg;base64,") == 2
    jsonl = client.get(f"/v1/batch/{job_id}/report?format=jsonl", headers=_auth(keys["analyst"]))
    assert len(jsonl.text.splitlines()) == 3


def test_roles_and_errors_are_json(api):
    client, keys = api
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("x.jpg", b"x")
    upload = {"file": ("set.zip", zipped.getvalue(), "application/zip")}
    cases = [
        (client.post("/v1/batch", files=upload), 401, "unauthenticated"),
        (client.post("/v1/batch", files=upload, headers=_auth(keys["pipeline"])), 403, "forbidden"),
        (client.get("/v1/batch/nope", headers=_auth(keys["analyst"])), 404, "job_not_found"),
        (
            client.post(
                "/v1/batch",
                files={"file": ("x.zip", b"not an archive", "application/zip")},
                headers=_auth(keys["analyst"]),
            ),
            415,
            "not_an_archive",
        ),
        (
            client.post("/v1/batch", data={"path": "/etc"}, headers=_auth(keys["analyst"])),
            403,
            "paths_disabled",
        ),
        (client.post("/v1/batch", headers=_auth(keys["analyst"])), 422, "bad_request"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code


def test_server_side_paths_stay_below_the_operator_root(api, tmp_path, monkeypatch):
    client, keys = api
    root = tmp_path / "root"
    keys_made = make_folder(root / "cases" / "42", 3)
    monkeypatch.setenv("AIGC_BATCH_ROOT", str(root))
    headers = _auth(keys["analyst"])
    for path, status, code in (
        ("../", 403, "outside_root"),
        ("/etc", 403, "outside_root"),
        ("cases/missing", 404, "not_found"),
    ):
        response = client.post("/v1/batch", data={"path": path}, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    started = client.post("/v1/batch", data={"path": "cases/42"}, headers=headers)
    assert started.status_code == 202, started.text
    body = _wait(client, keys["analyst"], started.json()["id"])
    assert (body["status"], body["done"], body["failed"]) == ("done", len(keys_made), 0)


def test_a_corrupt_archive_fails_its_job_with_the_reason(api):
    client, keys = api
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.jpg", image_bytes("coffee"))
    truncated = buf.getvalue()[:80]  # zip magic, no central directory
    started = client.post(
        "/v1/batch",
        files={"file": ("set.zip", truncated, "application/zip")},
        headers=_auth(keys["analyst"]),
    )
    assert started.status_code == 202, started.text
    body = _wait(client, keys["analyst"], started.json()["id"])
    assert body["status"] == "failed"
    assert "could not read the archive" in body["error"]
