"""A manifest store that arrived without its asset (from a soft-binding resolver).

The asset it was signed over is gone (re-encoded by a re-share): its hard
binding cannot hold, and that failure alone is expected. Everything else is
judged like any manifest: the signature, the trust in the signer, the
ingredients. What the caller must still check is that the store's soft
binding names the value that found it (C2PA 2.2, 18.10.5.1): `soft_bindings`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import c2pa

from .errors import MalformedAsset
from .formats import container_of
from .rubric import classify
from .trust import Settings, context_for

# the hard-binding failures a re-encoded asset must give
HARD_BINDING = frozenset(
    {"assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch"}
)
UNTRUSTED = "signingCredential.untrusted"


@dataclass(frozen=True)
class DetachedReport:
    manifest_id: str | None
    # "trusted": signed by a trusted signer, nothing failed but the hard binding;
    # "valid": the same with an untrusted signer; "invalid": anything else failed
    state: str
    ai_class: str
    signer: str | None
    # (alg, value) of every block of every c2pa.soft-binding assertion of the active manifest
    soft_bindings: tuple[tuple[str, str], ...]
    failures: tuple[str, ...]


def read_detached(
    store: bytes, asset: bytes, mime: str | None, settings: Settings | None = None
) -> DetachedReport:
    """Judge `store` beside `asset` (the file that carried the soft binding)."""
    container = container_of(asset, mime)
    try:
        with c2pa.Reader(
            container,
            io.BytesIO(asset),
            manifest_data=store,
            context=context_for(settings or Settings()),
        ) as reader:
            data = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as exc:
        raise MalformedAsset(f"the manifest store could not be read: {exc}") from exc
    label = data.get("active_manifest")
    active = (data.get("manifests") or {}).get(label) or {}
    codes = tuple(
        str(f.get("code", "?"))
        for f in ((data.get("validation_results") or {}).get("activeManifest") or {}).get("failure")
        or ()
    )
    failures = tuple(c for c in codes if c not in HARD_BINDING)
    if any(c != UNTRUSTED for c in failures) or not label:
        state = "invalid"
    else:
        state = "valid" if UNTRUSTED in failures else "trusted"
    info = active.get("signature_info") or {}
    return DetachedReport(
        manifest_id=label,
        state=state,
        ai_class=classify(data).ai_class,
        signer=info.get("common_name") or info.get("issuer"),
        soft_bindings=_soft_bindings(active),
        failures=failures,
    )


def _soft_bindings(manifest: dict) -> tuple[tuple[str, str], ...]:
    found = []
    for assertion in manifest.get("assertions") or ():
        if str(assertion.get("label", "")).split(".v")[0] != "c2pa.soft-binding":
            continue
        body = assertion.get("data") or {}
        for block in body.get("blocks") or ():
            found.append((str(body.get("alg")), str(block.get("value"))))
    return tuple(found)
