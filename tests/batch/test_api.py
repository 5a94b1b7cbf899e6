"""The batch endpoints through the real app: roles, uploads, server-side paths, reports."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db.base import database_url
from service.db.keys import create_key
from service.db.migrations import ensure_schema
from service.settings import Settings

from .conftest import image_bytes, make_folder


def _serve(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGC_BATCH_DIR", str(tmp_path / "batchdata"))
    # this test's own extraction folder: the startup sweep must not see other runs'
    monkeypatch.setenv("AIGC_BATCH_EXTRACT_DIR", str(tmp_path))
    monkeypatch.setenv("AIGC_BATCH_WORKERS", "1")
    url = database_url()  # explicit: get_engine(None) caches the first test's database
    ensure_schema(url)
    keys = {role: create_key(role, url=url)[1] for role in ("analyst", "pipeline", "admin")}
    keys["other_analyst"] = create_key("analyst", url=url)[1]
    with TestClient(create_app(Settings()), raise_server_exceptions=False) as client:
        yield client, keys


@pytest.fixture
def api(tmp_path, monkeypatch):
    yield from _serve(tmp_path, monkeypatch)


@pytest.fixture
def api_with_root(tmp_path, monkeypatch):
    # the operator's root, like every setting, is read when the service starts
    monkeypatch.setenv("AIGC_BATCH_ROOT", str(tmp_path / "root"))
    yield from _serve(tmp_path, monkeypatch)


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
    thumbs = re.findall(r"id='thumbs-\d+'>(.*?)</script>", html.text)
    assert html.status_code == 200 and sum(len(json.loads(t)) for t in thumbs) == 2
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


def test_server_side_paths_stay_below_the_operator_root(api_with_root, tmp_path):
    client, keys = api_with_root
    root = tmp_path / "root"
    keys_made = make_folder(root / "cases" / "42", 3)
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


def _zip(**members: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _leftovers(tmp_path) -> list[str]:
    uploads = list((tmp_path / "batchdata" / "uploads").glob("*"))
    extracted = list(tmp_path.glob("aigc-batch-*"))
    return sorted(str(p) for p in uploads + extracted)


def _until_clean(tmp_path, timeout=20) -> list[str]:
    # the upload goes just after the job's final status is written
    deadline = time.monotonic() + timeout
    while _leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _leftovers(tmp_path)


def test_a_job_is_visible_only_to_the_key_that_started_it_and_to_admins(api):
    client, keys = api
    started = client.post(
        "/v1/batch",
        files={"file": ("set.zip", _zip(**{"one.jpg": image_bytes("coffee")}), "application/zip")},
        headers=_auth(keys["analyst"]),
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    _wait(client, keys["analyst"], job_id)
    missing = client.get("/v1/batch/" + "0" * 32, headers=_auth(keys["other_analyst"]))
    for path in (f"/v1/batch/{job_id}", f"/v1/batch/{job_id}/report?format=csv"):
        other = client.get(path, headers=_auth(keys["other_analyst"]))
        assert other.status_code == 404, other.text
        # word for word what a job that does not exist gets: nothing to learn
        assert other.json() == {
            "error": {
                "code": "job_not_found",
                "message": missing.json()["error"]["message"].replace("0" * 32, job_id),
            }
        }
        assert job_id not in other.text.replace(f"'{job_id}'", "")
        for role in ("analyst", "admin"):
            assert client.get(path, headers=_auth(keys[role])).status_code == 200


def test_uploaded_archives_are_deleted_when_their_job_ends(api, tmp_path):
    client, keys = api
    analyst = _auth(keys["analyst"])
    good = _zip(**{"a/one.jpg": image_bytes("coffee"), "two.png": image_bytes("camera", "PNG")})
    corrupt = _zip(**{"a.jpg": image_bytes("coffee")})[:80]
    for archive, status in ((good, "done"), (corrupt, "failed")):
        started = client.post(
            "/v1/batch", files={"file": ("s.zip", archive, "application/zip")}, headers=analyst
        )
        assert started.status_code == 202, started.text
        assert _wait(client, keys["analyst"], started.json()["id"])["status"] == status
        assert _until_clean(tmp_path) == []
    # refused at the door (not an archive): nothing is kept either
    refused = client.post(
        "/v1/batch", files={"file": ("x.zip", b"plain bytes", "application/zip")}, headers=analyst
    )
    assert refused.status_code == 415
    assert _leftovers(tmp_path) == []


def test_the_sweep_removes_leftovers_nothing_keeps_alive(tmp_path, monkeypatch):
    import os

    from service.batch import uploads

    monkeypatch.setenv("AIGC_BATCH_DIR", str(tmp_path / "batchdata"))
    monkeypatch.setenv("AIGC_BATCH_EXTRACT_DIR", str(tmp_path))
    settings = Settings(batch_upload_retention_s=86_400)
    folder = uploads.upload_dir(settings)
    old, fresh, active = (folder / f"{n}{uploads.SUFFIX}" for n in ("old", "fresh", "active"))
    old_extract, fresh_extract = tmp_path / "aigc-batch-old", tmp_path / "aigc-batch-new"
    unrelated = tmp_path / "not-ours"
    for path in (old, fresh, active, unrelated):
        path.write_bytes(b"PK")
    for path in (old_extract, fresh_extract):
        (path / "sub").mkdir(parents=True)
    two_days_ago = time.time() - 2 * 86_400
    for path in (old, active, old_extract, unrelated):
        os.utime(path, (two_days_ago, two_days_ago))
    removed = uploads.sweep(settings, active={str(active)})
    assert sorted(removed) == sorted([old, old_extract])
    assert fresh.exists() and active.exists() and fresh_extract.exists() and unrelated.exists()
    # a running job's heartbeat keeps what it uses young
    beat = uploads.Heartbeat(active, every=0)
    beat()
    assert uploads.sweep(settings) == []


def test_leftovers_of_a_dead_server_go_when_the_app_starts(tmp_path, monkeypatch):
    import os

    from service.batch import uploads

    monkeypatch.setenv("AIGC_BATCH_DIR", str(tmp_path / "batchdata"))
    monkeypatch.setenv("AIGC_BATCH_EXTRACT_DIR", str(tmp_path))
    leftover = uploads.upload_dir(Settings()) / f"dead{uploads.SUFFIX}"
    leftover.write_bytes(b"PK")
    long_ago = time.time() - 7200
    os.utime(leftover, (long_ago, long_ago))
    url = database_url()
    ensure_schema(url)
    with TestClient(create_app(Settings(batch_upload_retention_s=3600))) as client:
        assert client.get("/healthz").status_code == 200
        assert not leftover.exists()


def test_bad_paths_and_repeated_parts_are_422(api_with_root, tmp_path):
    client, keys = api_with_root
    root = tmp_path / "root"
    root.mkdir()
    analyst = _auth(keys["analyst"])
    for path, code in (
        ("cases/\x00/x", "invalid_request"),
        ("a" * 5000, "invalid_request"),
        ("a" * 300, "invalid_path"),  # within the bound, too long for the file system
        ("", "bad_request"),
    ):
        response = client.post("/v1/batch", data={"path": path}, headers=analyst)
        assert response.status_code == 422, (path[:20], response.text)
        assert response.json()["error"]["code"] == code
    archive = _zip(**{"one.jpg": image_bytes("coffee")})
    both = client.post(
        "/v1/batch",
        data={"path": "x"},
        files={"file": ("s.zip", archive, "application/zip")},
        headers=analyst,
    )
    assert both.status_code == 422 and both.json()["error"]["code"] == "bad_request"
    twice = client.post(
        "/v1/batch",
        files=[("file", ("a.zip", archive, "application/zip"))] * 2,
        headers=analyst,
    )
    assert twice.status_code == 422 and "exactly one `file`" in twice.json()["error"]["message"]
    assert _leftovers(tmp_path) == []
