"""A partner's soft-binding resolver, consumed: `labeler.stores.RemoteResolver` over HTTP.

The endpoint comes from the operator's key registry, but which partner is
asked depends on the upload (whose mark it carries), so every request is
guarded like one an attacker chose: only hosts in AIGC_ALLOWED_RESOLVER_HOSTS
(default none), no redirects, no proxy from the environment, a connect and a
read timeout and one wall-clock deadline for both requests, and size caps on
both answers. What comes back is judged with c2pa-python like any manifest
(`provenance.read_detached`): trusted signer, nothing failed but the hard
binding the re-share broke, and a soft binding naming the value we found.
Anything else is ignored with a reason, never raised.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlsplit

import httpx

import provenance
from labeler.stores import RemoteCredentials

MAX_MATCHES_BYTES = 64 * 1024
MAX_STORE_BYTES = 4 * 1024 * 1024


class ResolverRefused(Exception):
    """The endpoint or its answer is not acceptable; the message says why."""


class HttpResolver:
    def __init__(
        self,
        allowed: tuple[tuple[str, str, int], ...],
        trust: provenance.Settings | None,
        *,
        timeout_s: float = 3.0,
    ) -> None:
        self.allowed = allowed
        self.trust = trust
        self.timeout_s = timeout_s

    def resolve(
        self, endpoint: str, alg: str, value: str, asset: bytes, mime: str
    ) -> RemoteCredentials:
        try:
            return self._resolve(endpoint, alg, value, asset, mime)
        except ResolverRefused as exc:
            return RemoteCredentials(error=str(exc))
        except httpx.TimeoutException:
            return RemoteCredentials(error=f"the resolver at {endpoint} did not answer in time")
        except httpx.HTTPError as exc:
            return RemoteCredentials(
                error=f"the resolver at {endpoint} failed: {type(exc).__name__}"
            )
        except provenance.ProvenanceError as exc:
            return RemoteCredentials(error=f"the resolver's manifest store is unreadable: {exc}")

    def _check(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        port = parts.port or (80 if parts.scheme == "http" else 443)
        if (parts.scheme, (parts.hostname or "").lower(), port) not in self.allowed:
            raise ResolverRefused(
                f"{parts.scheme}://{parts.netloc} is not in AIGC_ALLOWED_RESOLVER_HOSTS"
            )

    def _resolve(self, endpoint, alg, value, asset, mime) -> RemoteCredentials:
        self._check(endpoint)
        deadline = time.monotonic() + self.timeout_s
        timeout = httpx.Timeout(self.timeout_s, connect=min(1.0, self.timeout_s))
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            params = {"alg": alg, "value": value, "maxResults": 1}
            body = _get(
                client, f"{endpoint}/matches/byBinding", params, MAX_MATCHES_BYTES, deadline
            )
            manifest_id = _first_match(body)
            store = _get(
                client,
                f"{endpoint}/manifests/{quote(manifest_id, safe=':')}",
                None,
                MAX_STORE_BYTES,
                deadline,
            )
        report = provenance.read_detached(store, asset, mime, self.trust)
        if report.state != "trusted":
            failed = ", ".join(report.failures) or "no failure"
            raise ResolverRefused(f"the resolver's manifest is {report.state} ({failed})")
        if (alg, value) not in report.soft_bindings:
            raise ResolverRefused("the resolver's manifest does not carry the soft binding found")
        origin = f"Content Credentials from the resolver at {endpoint}, signed by {report.signer}"
        return RemoteCredentials(
            manifest_id=report.manifest_id, ai_class=report.ai_class, origin=origin
        )


def _get(client: httpx.Client, url: str, params, cap: int, deadline: float) -> bytes:
    with client.stream("GET", url, params=params) as response:
        if response.status_code != 200:
            raise ResolverRefused(f"{url} answered {response.status_code}")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise ResolverRefused(f"{url} sent more than {cap} bytes")
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the resolver's answers took too long in all")
            chunks.append(chunk)
    return b"".join(chunks)


def _first_match(body: bytes) -> str:
    try:
        matches = json.loads(body).get("matches") or []
        manifest_id = matches[0]["manifestId"] if matches else None
    except (ValueError, AttributeError, KeyError, TypeError, IndexError):
        raise ResolverRefused("the resolver's answer is not a soft-binding query result") from None
    if not isinstance(manifest_id, str) or not manifest_id or len(manifest_id) > 256:
        raise ResolverRefused("the resolver found no manifest for the mark")
    return manifest_id
