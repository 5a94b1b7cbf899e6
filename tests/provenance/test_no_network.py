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
    # an empty allow-list blocks every request the SDK's resolvers would make
    assert value["core"]["allowed_network_hosts"] == []
    # no identity claims aggregator is trusted (nor resolved) unless the operator names one
    assert value["cawg_trust"]["trusted_ica_issuers"] == []


# --- hosts with ports ---------------------------------------------------------


def _on_port(fixtures_dir, tmp_path, port: int):
    """cloud.jpg with its remote manifest URL moved to `port` (the XMP segment resized)."""
    data = bytearray((fixtures_dir / "cloud.jpg").read_bytes())
    origin = f"https://{REMOTE_HOST}".encode()
    at = data.find(origin)
    xmp = data.find(b"http://ns.adobe.com/xap/1.0/\x00")
    assert 0 < xmp < at, "the fixture's XMP no longer holds the remote URL"
    insert = f":{port}".encode()
    data[at + len(origin) : at + len(origin)] = insert
    length = int.from_bytes(data[xmp - 2 : xmp], "big") + len(insert)
    data[xmp - 2 : xmp] = length.to_bytes(2, "big")
    path = tmp_path / f"cloud-{port}.jpg"
    path.write_bytes(bytes(data))
    return path


def test_an_allowed_host_with_its_port_is_fetched_on_that_port_only(fixtures_dir, proxy, tmp_path):
    seen, env = proxy
    path = _on_port(fixtures_dir, tmp_path, 8443)
    env["AIGC_ALLOWED_MANIFEST_HOSTS"] = f"{REMOTE_HOST}:8443"
    result = run(f"PATH = {str(path)!r}" + OURS, env)
    assert result["url"].startswith(f"https://{REMOTE_HOST}:8443/")
    assert "could not be fetched" in result["evidence"][0]
    requests = seen()
    assert any(f"{REMOTE_HOST}:8443".encode() in request for request in requests)


def test_a_host_allowed_on_another_port_is_not_fetched(fixtures_dir, proxy, tmp_path):
    seen, env = proxy
    # the host on 443 does not allow 8443 ...
    env["AIGC_ALLOWED_MANIFEST_HOSTS"] = REMOTE_HOST
    result = run(f"PATH = {str(_on_port(fixtures_dir, tmp_path, 8443))!r}" + OURS, env)
    assert result["status"] == "remote_manifest_not_fetched"
    assert "not an allowed HTTPS host" in result["evidence"][0]
    # ... and the host on 8443 does not allow the default port
    env["AIGC_ALLOWED_MANIFEST_HOSTS"] = f"{REMOTE_HOST}:8443"
    result = run(f"PATH = {str(fixtures_dir / 'cloud.jpg')!r}" + OURS, env)
    assert "not an allowed HTTPS host" in result["evidence"][0]
    assert seen() == []


def test_host_entries_are_parsed_strictly_and_canonically():
    from provenance.hosts import ManifestHost, allowed_host, parse_host

    assert parse_host(" Manifests.Example:8443 ") == ManifestHost("manifests.example", 8443)
    assert parse_host("https://manifests.example/") == ManifestHost("manifests.example", 443)
    assert parse_host("[2001:DB8::1]:8443") == ManifestHost("2001:db8::1", 8443)
    assert str(parse_host("[::1]")) == "[::1]" and str(parse_host("h:443")) == "h"
    assert parse_host("[::1]:8443").sdk_patterns == ("https://[::1]:8443",)
    assert parse_host("h.example").sdk_patterns == ("https://h.example", "https://h.example:443")
    for bad in ("http://h", "h:0", "h:65536", "h:port", "::1", "[nope]:1", "h/path", "a b", "u@h"):
        with pytest.raises(ValueError):
            parse_host(bad)
    allowed = ("h.example:8443", "[::1]:9000")
    assert allowed_host("https://h.example:8443/m", allowed) == ManifestHost("h.example", 8443)
    assert allowed_host("https://[::1]:9000/m", allowed) == ManifestHost("::1", 9000)
    for url in (
        "https://h.example/m",
        "http://h.example:8443/m",
        "https://[::1]/m",
        "https://x:99999/",
    ):
        assert allowed_host(url, allowed) is None


def test_a_bad_host_entry_names_the_variable(monkeypatch):
    monkeypatch.setenv("AIGC_ALLOWED_MANIFEST_HOSTS", "good.example, http://bad.example")
    with pytest.raises(provenance.TrustConfigError, match="AIGC_ALLOWED_MANIFEST_HOSTS"):
        provenance.Settings.from_env()
    monkeypatch.setenv("AIGC_ALLOWED_MANIFEST_HOSTS", "a.example:8443, A.example:8443, [::1]")
    assert provenance.Settings.from_env().allowed_manifest_hosts == ("a.example:8443", "[::1]")
