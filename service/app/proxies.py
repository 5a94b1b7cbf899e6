"""The client's address as the rate limiter sees it.

`X-Forwarded-For` is whatever the sender wrote, so it counts only when the TCP
peer is one of the operator's trusted proxies; each trusted proxy appends the
address it saw, so the right-most entry that is not itself a trusted proxy is
the first one no trusted party vouches for beyond: the real client. Entries to
its left were written by the client and are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

from service.settings import Network

Address = IPv4Address | IPv6Address

# One IPv6 subscriber usually holds a whole /64: counting single addresses would
# let them rotate through 2**64 buckets.
IPV6_PREFIX = 64


def _address(text: str) -> Address | None:
    text = text.strip()
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        # some proxies write "[v6]:port" or "v4:port"
        host = text[1:].partition("]")[0] if text.startswith("[") else text.rpartition(":")[0]
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address, trusted: Iterable[Network]) -> bool:
    return any(addr.version == net.version and addr in net for net in trusted)


def _bucket_name(addr: Address) -> str:
    if isinstance(addr, IPv6Address):
        return str(ipaddress.ip_network(f"{addr}/{IPV6_PREFIX}", strict=False))
    return str(addr)


def resolve(peer: str | None, forwarded_for: Iterable[str], trusted: Iterable[Network]) -> str:
    """The address to limit by: the peer, or the real client behind trusted proxies.

    `forwarded_for` holds every `X-Forwarded-For` header value in arrival order.
    IPv6 clients are named by their /64.
    """
    trusted = tuple(trusted)
    peer_addr = _address(peer) if peer else None
    if peer_addr is None:
        # not an IP (a test transport or a Unix socket): nothing to trust either
        return peer or "unknown"
    client = peer_addr
    if trusted and _trusted(peer_addr, trusted):
        hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            addr = _address(hop)
            if addr is None:
                # A trusted proxy never writes garbage, so the sender did: stop at
                # the last address a trusted proxy vouched for (over-limiting, never a bypass).
                break
            client = addr
            if not _trusted(addr, trusted):
                break
    return _bucket_name(client)


def client_address(request) -> str:
    """`resolve` for a Starlette request, with the app's trusted proxies."""
    peer = request.client.host if request.client else None
    trusted = request.app.state.settings.trusted_proxies
    return resolve(peer, request.headers.getlist("x-forwarded-for"), trusted)
