"""Remote manifests: reported, never fetched, unless an operator allows the host.

c2pa-rs sends its HTTP requests through the proxy named in HTTPS_PROXY, so a
local listener standing in for that proxy sees every connection the SDK tries.
The naive peer (a bare Reader with default settings) is the positive control:
it does connect, so a silent listener really means "no request". Each read
runs in a fresh interpreter because the SDK keeps its HTTP client (and the
proxy it read at first use) for the life of the process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import provenance

REMOTE_HOST = "cai-manifests.adobe.com"


def run(script: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


NAIVE = """
import io, json, c2pa
try:
    c2pa.Reader("image/jpeg", io.BytesIO(open(PATH, "rb").read()))
    print(json.dumps({"error": None}))
except c2pa.C2paError as exc:
    print(json.dumps({"error": str(exc)}))
"""

OURS = """
import json, provenance
settings = provenance.Settings.from_env()
report = provenance.read_credentials(open(PATH, "rb").read(), "image/jpeg", settings)
print(json.dumps({"status": report.status, "url": report.remote_url, "evidence": report.evidence}))
"""


@pytest.fixture
def proxy():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(400))
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update({n: url for n in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")})
    env.pop("AIGC_ALLOWED_MANIFEST_HOSTS", None)

    def requests() -> list[bytes]:
        # a connection made just before the child exited may still sit in the backlog
        time.sleep(0.5)
        return list(seen)

    yield requests, env
    stop.set()
    thread.join(2)
    server.close()


def _connected(requests) -> bool:
    return any(REMOTE_HOST.encode() in request for request in requests())


def test_the_naive_reader_does_fetch_which_is_what_we_guard_against(fixtures_dir, proxy):
    seen, env = proxy
    result = run(f"PATH = {str(fixtures_dir / 'cloud.jpg')!r}" + NAIVE, env)
    assert "could not fetch the remote manifest" in result["error"]
    assert _connected(seen)


def test_remote_manifest_is_reported_and_not_fetched(fixtures_dir, proxy):
    seen, env = proxy
    result = run(f"PATH = {str(fixtures_dir / 'cloud.jpg')!r}" + OURS, env)
    assert result["status"] == "remote_manifest_not_fetched"
    assert result["url"].startswith(f"https://{REMOTE_HOST}/manifests/")
    assert seen() == []


def test_a_host_not_on_the_allow_list_is_not_fetched(fixtures_dir, proxy):
    seen, env = proxy
    env["AIGC_ALLOWED_MANIFEST_HOSTS"] = "manifests.example.org"
    result = run(f"PATH = {str(fixtures_dir / 'cloud.jpg')!r}" + OURS, env)
    assert result["status"] == "remote_manifest_not_fetched"
    assert seen() == []


def test_an_allowed_host_is_fetched_and_a_failed_fetch_is_not_the_assets_fault(fixtures_dir, proxy):
    seen, env = proxy
    env["AIGC_ALLOWED_MANIFEST_HOSTS"] = REMOTE_HOST
    result = run(f"PATH = {str(fixtures_dir / 'cloud.jpg')!r}" + OURS, env)
    # the stand-in proxy answers nothing: the fetch was tried (allowed) and failed
    assert _connected(seen)
    assert result["status"] == "remote_manifest_not_fetched"
    assert "could not be fetched" in result["evidence"][0]


def test_remote_manifest_report_in_process(fixtures_dir):
    report = provenance.read_credentials((fixtures_dir / "cloud.jpg").read_bytes(), "image/jpeg")
    assert report.present is False
    assert report.remote_manifest
    assert report.state is None


def test_allowed_hosts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIGC_ALLOWED_MANIFEST_HOSTS", " CAI-Manifests.adobe.com, other.example ")
    settings = provenance.Settings.from_env()
    assert settings.allowed_manifest_hosts == (REMOTE_HOST, "other.example")
    assert provenance.Settings.from_env({}).allowed_manifest_hosts == ()


def test_sdk_settings_keep_every_fetch_off_by_default():
    value = provenance.trust.sdk_settings(provenance.Settings())
    assert value["verify"]["remote_manifest_fetch"] is False
    assert value["verify"]["ocsp_fetch"] is False
    assert "core" not in value
