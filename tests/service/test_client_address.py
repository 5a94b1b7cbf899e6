"""Whose address a label check counts against: X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import httpx
import pytest

from service.app.proxies import resolve
from service.settings import parse_networks

from .servers import serve, small_png

TRUSTED = parse_networks("10.0.0.0/8, 192.0.2.1, fd00::/8", "AIGC_TRUSTED_PROXIES")


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        # an untrusted peer is the client, whatever it writes
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
        ("203.0.113.7", [], "203.0.113.7"),
        # a trusted proxy: the right-most address it did not append itself
        ("192.0.2.1", ["198.51.100.1"], "198.51.100.1"),
        ("192.0.2.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
        # a chain of trusted proxies is skipped, and several header lines read as one list
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1", "10.1.1.1, 10.2.2.2"], "198.51.100.1"),
        # a trusted proxy without the header
        ("10.0.0.5", [], "10.0.0.5"),
        # garbage a trusted proxy would never write: stop at the last vouched address
        ("10.0.0.5", ["198.51.100.1, not-an-ip"], "10.0.0.5"),
        ("10.0.0.5", ["198.51.100.1, unknown, 10.3.3.3"], "10.3.3.3"),
        # ports and brackets some proxies add, IPv4-mapped IPv6
        ("192.0.2.1", ["198.51.100.1:4711"], "198.51.100.1"),
        ("192.0.2.1", ["[2001:db8::1]:443"], "2001:db8::/64"),
        ("::ffff:192.0.2.1", ["198.51.100.1"], "198.51.100.1"),
        # an IPv6 client is its /64: rotating the host part does not help
        ("2001:db8:1:2:aaaa::1", [], "2001:db8:1:2::/64"),
        ("fd00::1", ["2001:db8:1:2::ffff"], "2001:db8:1:2::/64"),
        # a peer that is no IP address (a test transport): itself
        ("testclient", ["198.51.100.1"], "testclient"),
    ],
)
def test_resolve(peer, xff, expected):
    assert resolve(peer, xff, TRUSTED) == expected


def test_with_no_trusted_proxies_the_header_is_never_read():
    assert resolve("10.0.0.5", ["198.51.100.1"], ()) == "10.0.0.5"


def _check(client: httpx.Client, forwarded: str) -> httpx.Response:
    return client.post(
        "/v1/label-check",
        files={"file": ("a.png", small_png())},
        headers={"X-Forwarded-For": forwarded},
    )


@pytest.mark.slow
def test_untrusted_peer_rotating_forwarded_for_stays_limited(tmp_path):
    # a real uvicorn: by default it would itself believe X-Forwarded-For from loopback
    with (
        serve(tmp_path, AIGC_CREATOR_PAGE_OPEN="1", AIGC_LABEL_CHECK_LIMIT="3") as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        codes = [_check(client, f"198.51.100.{i}").status_code for i in range(12)]
    assert codes == [200] * 3 + [429] * 9


@pytest.mark.slow
def test_trusted_proxy_peer_limits_each_real_client(tmp_path):
    with (
        serve(
            tmp_path,
            AIGC_CREATOR_PAGE_OPEN="1",
            AIGC_LABEL_CHECK_LIMIT="3",
            AIGC_TRUSTED_PROXIES="127.0.0.1",
        ) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        # each client rotates what it writes; the proxy appends what it saw
        first = [_check(client, f"6.6.6.{i}, 203.0.113.7").status_code for i in range(5)]
        second = [_check(client, f"7.7.7.{i}, 203.0.113.8").status_code for i in range(5)]
        # the proxy's own requests (no header) are a third client
        own = client.post("/v1/label-check", files={"file": ("a.png", small_png())})
    assert first == [200] * 3 + [429] * 2
    assert second == [200] * 3 + [429] * 2
    assert own.status_code == 200
