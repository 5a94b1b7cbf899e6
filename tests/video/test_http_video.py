"""MP4 uploads through the HTTP entry points (scan, label-check): the same Decision
as for images, and hostile videos as 4xx JSON errors."""

from __future__ import annotations

import warnings

import pytest

from labeler import reset_default_engine


@pytest.fixture
def client(tmp_path, monkeypatch):
    from service.app import create_app
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema
    from service.settings import Settings

    url = f"sqlite:///{tmp_path / 'service.db'}"
    monkeypatch.setenv("AIGC_DATABASE_URL", url)
    ensure_schema(url)
    keys = {role: create_key(role, note="test key", url=url)[1] for role in ("pipeline", "creator")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        app = create_app(Settings(database_url=url))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, keys
    reset_default_engine()


def _post(client, path, key, data, name):
    return client.post(
        path,
        headers={"Authorization": f"Bearer {key}"},
        files={"file": (name, data)},
        data={"creator_id": "c1", "creator_disclosed_ai": "false"},
    )


def test_scan_accepts_a_signed_mp4(client, fixtures_dir):
    http, keys = client
    response = _post(
        http, "/v1/scan", keys["pipeline"], (fixtures_dir / "video1.mp4").read_bytes(), "v.mp4"
    )
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["media"]["kind"] == "video" and decision["media"]["width"] == 720
    assert decision["signals"]["credentials"]["present"] is True


def test_label_check_accepts_an_mp4(client, fixtures_dir, make_clip):
    http, keys = client
    response = _post(http, "/v1/label-check", keys["creator"], make_clip(), "clip.mp4")
    assert response.status_code == 200, response.text
    assert "signals" not in response.json()  # the creator-facing answer stays plain


def test_hostile_mp4_is_a_4xx_json_error(client, fixtures_dir):
    http, keys = client
    data = (fixtures_dir / "nested_moov_1000.mp4").read_bytes()
    response = _post(http, "/v1/scan", keys["pipeline"], data, "bomb.mp4")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "media_undecodable"
