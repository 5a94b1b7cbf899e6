"""CAWG identity assertions (who the creator is) and training-mining permissions.

An identity is signed either with an X.509 certificate (`cawg.x509.cose`: the
name is the certificate's subject) or by an identity claims aggregator
(`cawg.identity_claims_aggregation`: verified names, organisations and social
accounts). Its state is judged apart from the claim signer's: a trusted
signer may carry an identity whose certificate no identity list trusts. The
SDK validates identities locally; resolving identities over the network stays off.
"""

from __future__ import annotations

from dataclasses import dataclass

IDENTITY_LABEL = "cawg.identity"
TRAINING_LABELS = ("cawg.training-mining", "c2pa.training-mining")


@dataclass(frozen=True)
class Identity:
    sig_type: str | None  # cawg.x509.cose | cawg.identity_claims_aggregation | ...
    names: tuple[str, ...]  # people and organisations the identity names
    verified_by: str | None  # the certificate issuer or the aggregator
    accounts: tuple[str, ...]  # verified social accounts / web sites, "provider: name"
    state: str  # verified | untrusted | invalid
    reason: str  # the state in words

    def describe(self) -> str:
        who = ", ".join(self.names) or "an unnamed identity"
        verb = "verified" if self.state == "verified" else "signed"
        by = f", identity {verb} by {self.verified_by}" if self.verified_by else ""
        return f"{who}{by} ({self.state}: {self.reason})"


def identities(manifest: dict, codes: tuple[tuple[str, str], ...]) -> tuple[Identity, ...]:
    """The identity assertions of one manifest; `codes` are (code, url) of its results."""
    out = []
    for assertion in manifest.get("assertions") or ():
        label = str(assertion.get("label", ""))
        if label.split("__")[0] != IDENTITY_LABEL:
            continue
        data = assertion.get("data") or {}
        mine = tuple(code for code, url in codes if url.endswith(label) or not url)
        out.append(_identity(data, mine))
    return tuple(out)


def _identity(data: dict, codes: tuple[str, ...]) -> Identity:
    payload = data.get("signer_payload") or {}
    sig_type = payload.get("sig_type")
    info = data.get("signature_info") or {}
    names: list[str] = []
    accounts: list[str] = []
    verified_by = None
    if info:
        names.extend(str(v) for v in (info.get("common_name"), info.get("organization")) if v)
        verified_by = info.get("issuer")
    # identity claims aggregation: the aggregator lists what it verified
    claims = data.get("verifiedIdentities") or data.get("verified_identities") or ()
    for claim in claims if isinstance(claims, list) else ():
        if not isinstance(claim, dict):
            continue
        name = claim.get("name") or claim.get("username")
        provider = (claim.get("provider") or {}).get("name") if claim.get("provider") else None
        kind = str(claim.get("type", ""))
        if kind.endswith(("identity", "document_verification", "affiliation")) and name:
            names.append(str(name))
        elif name:
            accounts.append(
                f"{provider or kind}: {name}" + (f" {claim['uri']}" if claim.get("uri") else "")
            )
    aggregator = data.get("issuer") or (data.get("credential") or {}).get("issuer")
    verified_by = verified_by or (str(aggregator) if aggregator else None)
    state, reason = _state(codes)
    return Identity(
        sig_type, tuple(dict.fromkeys(names)), verified_by, tuple(accounts), state, reason
    )


def _state(codes: tuple[str, ...]) -> tuple[str, str]:
    bad = [c for c in codes if c.startswith("cawg.") and _is_failure(c)]
    untrusted = [c for c in bad if c.endswith(".untrusted")]
    if bad and len(untrusted) < len(bad):
        return "invalid", "; ".join(c for c in bad if c not in untrusted)
    if untrusted:
        return "untrusted", (
            "the identity's signature is valid, but its certificate is not on any "
            f"identity trust list in force ({', '.join(untrusted)})"
        )
    if any(c.endswith(".trusted") for c in codes):
        return "verified", "signature valid, identity issuer trusted"
    return "untrusted", "no identity trust list vouches for it"


def _is_failure(code: str) -> bool:
    return not code.endswith((".validated", ".well-formed", ".trusted", ".match"))


def training_mining(manifest: dict) -> tuple[str, ...]:
    """ "cawg.ai_generative_training: notAllowed", one line per permission the creator stated."""
    out = []
    for assertion in manifest.get("assertions") or ():
        if str(assertion.get("label", "")).split("__")[0] not in TRAINING_LABELS:
            continue
        entries = (assertion.get("data") or {}).get("entries") or {}
        for key, value in entries.items() if isinstance(entries, dict) else ():
            use = value.get("use") if isinstance(value, dict) else value
            out.append(f"{key}: {use}")
    return tuple(out)
