"""A partner's resolver, consumed: platform A makes a rendition, platform B recovers A's
credentials through A's /c2pa resolver (two real `aigc serve` on loopback), and every
guard on the way out."""

from __future__ import annotations

import io
import secrets
import socket
import threading
import time

import httpx
from PIL import Image

import provenance
from service.db.keys import create_key
from service.durable.remote import HttpResolver

from .servers import serve
from .test_durable_live import _ai_upload

ALG = "org.aigc-provenance.keyed-tile.1"


def _reshare(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((720, round(720 * image.height / image.width)))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=75)
    return buf.getvalue()


def test_platform_b_recovers_platform_a_credentials_through_a_resolver(tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    ca_a = provenance.create_dev_ca(a_dir / "ca", name="platform A")
    generator = provenance.create_dev_ca(a_dir / "generator", name="generator")
    key_a = a_dir / "platform-a-TEST.key"
    key_a.write_text(secrets.token_bytes(32).hex())
    a_url = f"sqlite:///{a_dir / 'aigc.db'}"
    a_env = {
        "AIGC_DATABASE_URL": a_url,
        "AIGC_SCAN_CONCURRENCY": "1",
        "AIGC_PLATFORM_WATERMARK_KEY_FILE": str(key_a),
        "AIGC_PLATFORM_SIGNING_CERT": str(ca_a.signer_chain),
        "AIGC_PLATFORM_SIGNING_KEY": str(ca_a.signer_key),
        "AIGC_TRUST_ANCHORS": str(generator.root_cert),
        "AIGC_RESOLVER_OPEN": "1",
    }
    with serve(a_dir, **a_env) as a_base:
        pipeline_a = {"Authorization": f"Bearer {create_key('pipeline', url=a_url)[1]}"}
        made = httpx.post(
            a_base + "/v1/renditions",
            headers=pipeline_a,
            files={"file": ("ai.jpg", _ai_upload(generator))},
            timeout=60,
        )
        assert made.status_code == 200, made.text
        reshared = _reshare(made.content)

        registry = b_dir / "keys.yaml"
        registry.write_text(
            "keys:\n"
            "  - id: platform-a\n"
            "    owner: Platform A\n"
            "    meaning: other\n"
            f"    key_file: {key_a}\n"
            f"    resolver: {a_base}/c2pa\n"
        )
        b_url = f"sqlite:///{b_dir / 'aigc.db'}"
        b_env = {
            "AIGC_DATABASE_URL": b_url,
            "AIGC_SCAN_CONCURRENCY": "1",
            "AIGC_WATERMARK_KEYS": str(registry),
            "AIGC_ALLOWED_RESOLVER_HOSTS": a_base,
            # B trusts A's signer, as platforms that resolve each other's marks would
            "AIGC_TRUST_ANCHORS": str(ca_a.root_cert),
        }
        with serve(b_dir, **b_env) as b_base:
            pipeline_b = {"Authorization": f"Bearer {create_key('pipeline', url=b_url)[1]}"}
            scan = httpx.post(
                b_base + "/v1/scan",
                headers=pipeline_b,
                files={"file": ("r.jpg", reshared)},
                timeout=60,
            ).json()
    decision = scan["decision"]
    recovered = decision["signals"]["recovered"]
    assert recovered["via"] == "platform-a" and recovered["recovered"], recovered
    assert recovered["manifest_id"] == made.headers["x-c2pa-manifest-id"]
    assert "platform A claim signer" in recovered["origin"]
    assert decision["label"] == "ai_generated"
    assert [r["code"] for r in decision["reasons"]] == ["c2pa.recovered"]


def _hanging_server():
    """A loopback server that accepts and never answers; (port, stop)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held = []
    stop = threading.Event()

    def run():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def close():
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        sock.close()

    return sock.getsockname()[1], close


def test_a_hanging_resolver_costs_its_timeout_and_gives_a_reason():
    port, close = _hanging_server()
    try:
        client = HttpResolver((("http", "127.0.0.1", port),), None, timeout_s=1.0)
        start = time.monotonic()
        found = client.resolve(
            f"http://127.0.0.1:{port}/c2pa", ALG, "AAAAAAAAAAA=", b"", "image/jpeg"
        )
        elapsed = time.monotonic() - start
    finally:
        close()
    assert found.manifest_id is None and "did not answer in time" in found.error
    assert elapsed < 3.0


def test_hosts_outside_the_allow_list_are_never_asked():
    port, close = _hanging_server()
    try:
        client = HttpResolver((("https", "partner.example", 443),), None)
        found = client.resolve(
            f"http://127.0.0.1:{port}/c2pa", ALG, "AAAAAAAAAAA=", b"", "image/jpeg"
        )
    finally:
        close()
    assert "not in AIGC_ALLOWED_RESOLVER_HOSTS" in found.error


class _Resolver(threading.Thread):
    """A tiny loopback resolver serving fixed answers (a redirect, a forged store...)."""

    def __init__(self, matches: bytes, store: bytes, status: int = 200, location: str = ""):
        super().__init__(daemon=True)
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.matches if "/matches/" in self.path else outer.store
                self.send_response(outer.status)
                if outer.location:
                    self.send_header("Location", outer.location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.matches, self.store, self.status, self.location = matches, store, status, location
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _ask(resolver: _Resolver, trust=None, value="AAAAAAAAAAA=", asset=b"\xff\xd8"):
    resolver.start()
    try:
        client = HttpResolver((("http", "127.0.0.1", resolver.port),), trust)
        return client.resolve(
            f"http://127.0.0.1:{resolver.port}/c2pa", ALG, value, asset, "image/jpeg"
        )
    finally:
        resolver.stop()


def _signed_store(tmp_path, value: str):
    """A manifest store claiming AI generation with our soft binding, and the stripped asset."""
    ca = provenance.create_dev_ca(tmp_path / "someone", name="someone")
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (90, 120, 200)).save(buf, "JPEG")
    definition = {
        "title": "claims",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": provenance.signing.dst_uri(
                                "trainedAlgorithmicMedia"
                            ),
                        }
                    ]
                },
            },
            {
                "label": "c2pa.soft-binding",
                "data": {"alg": ALG, "blocks": [{"scope": {}, "value": value}]},
            },
        ],
    }
    signed = provenance.sign_detailed(
        buf.getvalue(),
        "image/jpeg",
        provenance.SignerCredentials.from_dev_ca(ca),
        manifest=definition,
    )
    return ca, signed.manifest_store, _reshare(signed.data)


def test_a_store_from_an_untrusted_signer_or_for_another_value_is_ignored(tmp_path):
    value = "ASNFZ4mrze8="
    ca, store, asset = _signed_store(tmp_path, value)
    matches = b'{"matches": [{"manifestId": "urn:c2pa:x"}]}'
    untrusted = _ask(_Resolver(matches, store), value=value, asset=asset)
    assert (
        untrusted.manifest_id is None
        and "is valid (signingCredential.untrusted)" in untrusted.error
    )
    trust = provenance.Settings(operator_anchors=(str(ca.root_cert),))
    other = _ask(_Resolver(matches, store), trust, value="AAAAAAAAAAA=", asset=asset)
    assert "does not carry the soft binding" in other.error
    accepted = _ask(_Resolver(matches, store), trust, value=value, asset=asset)
    assert accepted.error is None and accepted.ai_class == "ai_generated"


def test_redirects_are_not_followed():
    found = _ask(_Resolver(b"", b"", status=302, location="http://169.254.169.254/"))
    assert "answered 302" in found.error


def test_a_forged_or_truncated_store_is_ignored_with_a_reason():
    matches = b'{"matches": [{"manifestId": "urn:c2pa:forged"}]}'
    found = _ask(_Resolver(matches, b"\x00\x00\x00\x10jumbnot a store"))
    assert found.manifest_id is None and "unreadable" in found.error
    found = _ask(_Resolver(b"<html>not json</html>", b""))
    assert "not a soft-binding query result" in found.error
    found = _ask(_Resolver(b'{"matches": []}', b""))
    assert "no manifest" in found.error


def test_an_oversized_answer_is_cut_off():
    found = _ask(_Resolver(b"[" + b" " * (200 * 1024) + b"]", b""))
    assert "more than" in found.error
