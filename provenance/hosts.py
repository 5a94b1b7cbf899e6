"""Hosts a remote manifest may be fetched from, as the operator names them.

An entry is `host`, `host:port`, `[ipv6]` or `[ipv6]:port` (an `https://`
prefix is allowed, no other scheme: only HTTPS is ever fetched). A URL is
allowed when its scheme is https and its host and port (443 when absent)
equal an entry's exactly: naming `manifests.example:8443` allows that port
only, and naming `manifests.example` allows 443 only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORT = 443
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


@dataclass(frozen=True)
class ManifestHost:
    host: str  # lowercase; an IPv6 address without its brackets
    port: int = DEFAULT_PORT

    @property
    def _netloc_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        """The canonical entry: the port only when it is not 443."""
        if self.port == DEFAULT_PORT:
            return self._netloc_host
        return f"{self._netloc_host}:{self.port}"

    @property
    def sdk_patterns(self) -> tuple[str, ...]:
        """The SDK's allowed_network_hosts entries, a second lock behind ours.

        c2pa-rs matches scheme and host[:port] as the URL writes them, so 443
        is allowed both as written and as left out.
        """
        if self.port == DEFAULT_PORT:
            return (f"https://{self}", f"https://{self._netloc_host}:{DEFAULT_PORT}")
        return (f"https://{self}",)


def parse_host(entry: str) -> ManifestHost:
    """One entry; ValueError with the reason when it is not a host we can match."""
    text = entry.strip().lower()
    if text.startswith("https://"):
        text = text[len("https://") :].rstrip("/")
    elif "://" in text:
        raise ValueError(f"{entry!r}: only https hosts can be allowed")
    if not text:
        raise ValueError(f"{entry!r}: no host")
    if text.count(":") > 1 and not text.startswith("["):
        raise ValueError(f"{entry!r}: write an IPv6 address in brackets, e.g. [2001:db8::1]:8443")
    try:
        parts = urlsplit(f"https://{text}")
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError(f"{entry!r}: {exc}") from None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{entry!r}: a host with an optional port, nothing else")
    host = parts.hostname or ""
    if text.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{entry!r}: not an IPv6 address in brackets") from None
    elif not _HOSTNAME.match(host):
        raise ValueError(f"{entry!r}: not a host name or IPv4 address")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{entry!r}: the port must be within 1..65535")
    return ManifestHost(host, port or DEFAULT_PORT)


def parse_hosts(entries) -> tuple[str, ...]:
    """Canonical entries (see ManifestHost.__str__), in order, without repeats."""
    seen: dict[str, None] = {}
    for entry in entries:
        if str(entry).strip():
            seen[str(parse_host(str(entry)))] = None
    return tuple(seen)


def allowed_host(url: str, allowed: tuple[str, ...]) -> ManifestHost | None:
    """The entry that allows fetching `url`, None when none does (or it is not https)."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname:
        return None
    wanted = ManifestHost(parts.hostname.lower(), port)
    for entry in allowed:
        if parse_host(entry) == wanted:
            return wanted
    return None
