"""The state of a manifest in words, and which trust list granted it.

States: `trusted` (signer on the official C2PA list or an operator's anchors),
`trusted_legacy` (signer only on the frozen interim list), `valid` (signature
fine, signer on no list in force) and `invalid` (a check failed). The SDK
reads with every list at once; which list granted trust is learnt by reading
again with fewer lists, only when more than one could have.
"""

from __future__ import annotations

from collections.abc import Callable

# Identity (CAWG) findings have their own state; they do not lower the signer's.
IDENTITY_PREFIX = "cawg."
UNTRUSTED = "signingCredential.untrusted"
# Tried in this order: the official list first, the legacy list only when nothing else did.
GRANT_ORDER = ("official", "operator", "legacy")

STATE_WORDS = {
    "trusted": "valid signature, trusted signer",
    "trusted_legacy": "valid signature, signer trusted under the legacy interim trust list",
    "valid": "valid signature, untrusted signer (not on any trust list in force)",
    "invalid": "invalid",
}

FAILURE_WORDS = {
    "assertion.dataHash.mismatch": "the file's bytes changed after signing (data hash mismatch)",
    "assertion.bmffHash.mismatch": "the video's bytes changed after signing (BMFF hash mismatch)",
    "assertion.boxesHash.mismatch": "the file's boxes changed after signing (box hash mismatch)",
    "assertion.hashedURI.mismatch": "an assertion was changed after signing (hashed URI mismatch)",
    "assertion.missing": "an assertion the claim lists is missing",
    "assertion.action.ingredientMismatch": "an action names an ingredient that is not there",
    "claimSignature.mismatch": "the claim signature does not verify (claim altered or forged)",
    "claimSignature.missing": "the claim has no signature",
    "claimSignature.outsideValidity": "the claim was signed outside the certificate's validity",
    "signingCredential.expired": "the signing certificate had expired (no trusted time-stamp)",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.invalid": "the signing certificate is not valid for claim signing",
    UNTRUSTED: "the signer is not on any trust list in force",
    "ingredient.manifest.missing": "an ingredient's manifest is missing",
    "ingredient.hashedURI.mismatch": "an ingredient's manifest changed after it was used",
    "ingredient.claimSignature.mismatch": "an ingredient's claim signature does not verify",
    "timeStamp.mismatch": "the time-stamp does not match the signature",
    "timeStamp.untrusted": "the time-stamp authority is not on the TSA list",
    "cawg.x509.credential.untrusted": (
        "the creator identity's certificate is not on any identity trust list in force"
    ),
    "cawg.identity.signature.mismatch": "the creator identity's signature does not verify",
    "remote_manifest_not_fetched": "the manifest is remote and was not fetched",
}


def active_codes(store: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(failure codes, success codes) of the active manifest."""
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = tuple(f.get("code", "?") for f in results.get("failure") or ())
    successes = tuple(s.get("code", "?") for s in results.get("success") or ())
    return failures, successes


def signer_state(store: dict) -> str | None:
    """invalid | valid | trusted for the active manifest's signature and signer."""
    state = (store.get("validation_state") or "").lower() or None
    failures, successes = active_codes(store)
    # The SDK reads Valid when only the creator identity is untrusted, even for a
    # trusted claim signer: the signer's trust stands, the identity is judged apart.
    if (
        state == "valid"
        and "signingCredential.trusted" in successes
        and failures
        and all(c.startswith(IDENTITY_PREFIX) for c in failures)
    ):
        return "trusted"
    return state


def granting_kind(kinds: frozenset[str], trusted_with: Callable[[str], bool]) -> str:
    """Which list granted trust to a signer trusted by all `kinds` together.

    `trusted_with(kind)` reads again with that list (and the TSA list) alone.
    """
    candidates = [k for k in GRANT_ORDER if k in kinds] or ["official"]
    for kind in candidates[:-1]:
        if trusted_with(kind):
            return kind
    return candidates[-1]


def state_for(kind: str | None, state: str | None) -> str | None:
    if state == "trusted" and kind == "legacy":
        return "trusted_legacy"
    return state


def failure_words(code: str) -> str:
    return FAILURE_WORDS.get(code, code)


def describe(state: str | None, trusted_by: str | None, failures: tuple[str, ...]) -> str:
    """One line for a person: "valid signature, untrusted signer (...)", or why it is invalid."""
    if state is None:
        return "no manifest"
    if state == "invalid":
        real = [c for c in failures if c != UNTRUSTED] or list(failures)
        why = "; ".join(failure_words(c) for c in real) or "a check failed"
        return f"invalid: {why}"
    words = STATE_WORDS.get(state, state)
    if state in ("trusted", "trusted_legacy") and trusted_by:
        words = f"{words} ({trusted_by})"
    return words
