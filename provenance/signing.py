"""Sign an asset with our own C2PA manifest (samples, tests, labelled output).

Keys come from files (or the development CA), never from the repository. The
manifest follows the rules c2pa-rs enforces: a `c2pa.created` action carries
a digitalSourceType; `c2pa.opened` / `c2pa.placed` name their ingredient by label.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import c2pa

from .devca import DevCA
from .errors import SigningError
from .formats import container_of
from .rubric import C2PA_DST, IPTC
from .trust import DEFAULT_EKUS

GENERATOR = {"name": "aigc-provenance", "version": "0.1.0"}

_ALGS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ps384": c2pa.C2paSigningAlg.PS384,
    "ps512": c2pa.C2paSigningAlg.PS512,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}


@dataclass(frozen=True)
class SignerCredentials:
    chain_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    alg: str = "es256"
    # None: no time stamp (offline); the manifest then expires with the certificate.
    tsa_url: str | None = None

    @classmethod
    def from_files(
        cls, chain: str | Path, key: str | Path, alg: str = "es256", tsa_url: str | None = None
    ) -> SignerCredentials:
        try:
            return cls(Path(chain).read_bytes(), Path(key).read_bytes(), alg, tsa_url)
        except OSError as exc:
            raise SigningError(f"cannot read signing credentials: {exc}") from exc

    @classmethod
    def from_dev_ca(cls, ca: DevCA | str | Path) -> SignerCredentials:
        ca = ca if isinstance(ca, DevCA) else DevCA(Path(ca))
        return cls.from_files(ca.signer_chain, ca.signer_key)

    def _signer(self) -> c2pa.Signer:
        alg = _ALGS.get(self.alg.lower())
        if alg is None:
            raise SigningError(f"unknown signing algorithm {self.alg!r}; use one of {list(_ALGS)}")
        info = c2pa.C2paSignerInfo(alg, self.chain_pem, self.key_pem, self.tsa_url)
        try:
            return c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise SigningError(f"the certificate chain or key was refused: {exc}") from exc


@dataclass(frozen=True)
class Ingredient:
    data: bytes = field(repr=False)
    title: str
    # parentOf: the asset this one was made from; componentOf: placed into it
    relationship: str = "parentOf"


def dst_uri(value: str) -> str:
    """`trainedAlgorithmicMedia` -> the IPTC URI; full URIs pass through."""
    if value.startswith("http"):
        return value
    if value in ("empty", "trainedAlgorithmicData"):
        return C2PA_DST + value
    return IPTC + value


# Signing never validates anything remote; thumbnails cost ~45 ms and ~170 KB each.
# The builder checks our own certificate too, so it needs the same EKU list.
_BUILD_SETTINGS = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "trust": {"trust_config": "\n".join(DEFAULT_EKUS)},
    "builder": {"thumbnail": {"enabled": False}},
}
_context: c2pa.Context | None = None


def _build_context() -> c2pa.Context:
    global _context
    if _context is None:
        _context = c2pa.Context.from_dict(_BUILD_SETTINGS)
    return _context


def _forget_context() -> None:
    global _context
    _context = None


# like the readers' contexts (provenance/trust.py), not valid in a forked child
os.register_at_fork(after_in_child=_forget_context)


@dataclass(frozen=True)
class Signed:
    """A signed asset and its manifest store (what a manifest repository keeps)."""

    data: bytes = field(repr=False)
    manifest_store: bytes = field(repr=False)


def sign(data: bytes, mime: str | None, signer: SignerCredentials, **parts) -> bytes:
    """The asset with a new embedded manifest (`sign_detailed`'s asset)."""
    return sign_detailed(data, mime, signer, **parts).data


def sign_detailed(
    data: bytes,
    mime: str | None,
    signer: SignerCredentials,
    *,
    digital_source_type: str | None = None,
    actions: tuple[dict, ...] = (),
    ingredients: tuple[Ingredient, ...] = (),
    title: str = "asset",
    assertions: tuple[dict, ...] = (),
    software_agent: str | None = None,
    manifest: dict | None = None,
) -> Signed:
    """The asset with a new embedded manifest, and that manifest store.

    With `digital_source_type` the manifest records `c2pa.created` (a new asset);
    with a parent ingredient it records `c2pa.opened` of that parent, followed by
    `actions` (each a C2PA action dict; a short string name is accepted too).
    `manifest` is a complete c2pa manifest definition used as given instead
    (ingredients are still attached and may be referenced as "ingredient-N").
    """
    container = container_of(data, mime)
    if manifest is not None:
        if digital_source_type is not None or actions or assertions:
            raise SigningError("give either a full manifest or the parts, not both")
        definition = {"claim_generator_info": [GENERATOR], "format": container, **manifest}
        return _build_and_sign(definition, data, container, signer, ingredients)
    parents = [i for i in ingredients if i.relationship == "parentOf"]
    if len(parents) > 1:
        raise SigningError("an asset has at most one parentOf ingredient")
    all_actions: list[dict] = []
    if digital_source_type is not None:
        if parents:
            raise SigningError("c2pa.created cannot have a parent; pass actions instead")
        created = {
            "action": "c2pa.created",
            "digitalSourceType": dst_uri(digital_source_type),
            # without a time-stamp authority this is the only time a reader can show
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        if software_agent:
            created["softwareAgent"] = software_agent
        all_actions.append(created)
    for n, ingredient in enumerate(ingredients):
        label = f"ingredient-{n}"
        if ingredient.relationship == "parentOf":
            all_actions.insert(
                0, {"action": "c2pa.opened", "parameters": {"ingredientIds": [label]}}
            )
        else:
            all_actions.append({"action": "c2pa.placed", "parameters": {"ingredientIds": [label]}})
    for action in actions:
        action = {"action": action} if isinstance(action, str) else dict(action)
        if "digitalSourceType" in action:
            action["digitalSourceType"] = dst_uri(action["digitalSourceType"])
        all_actions.append(action)
    if not all_actions:
        raise SigningError("nothing to claim: give a digital_source_type, a parent or actions")
    definition = {
        "claim_generator_info": [GENERATOR],
        "title": title,
        "format": container,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": all_actions}},
            *assertions,
        ],
    }
    return _build_and_sign(definition, data, container, signer, ingredients)


def _build_and_sign(
    definition: dict,
    data: bytes,
    container: str,
    signer: SignerCredentials,
    ingredients: tuple[Ingredient, ...],
) -> Signed:
    labels = [f"ingredient-{n}" for n in range(len(ingredients))]
    out = io.BytesIO()
    try:
        with c2pa.Builder(definition, context=_build_context()) as b:
            for label, ingredient in zip(labels, ingredients, strict=True):
                b.add_ingredient(
                    {
                        "title": ingredient.title,
                        "relationship": ingredient.relationship,
                        "label": label,
                    },
                    container_of(ingredient.data, None),
                    io.BytesIO(ingredient.data),
                )
            with signer._signer() as c2pa_signer:
                store = b.sign(c2pa_signer, container, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise SigningError(f"signing failed: {exc}") from exc
    return Signed(out.getvalue(), bytes(store or b""))
