"""Read and judge the Content Credentials of one asset with c2pa-python."""

from __future__ import annotations

import io
import json
import re

import c2pa

from .chain import ai_tool, build_chain, generator
from .errors import MalformedAsset, ProvenanceError, UnsupportedFormat
from .formats import container_of
from .hints import read_hints, strongest_class
from .hosts import allowed_host
from .identity import identities, training_mining
from .implicit import read_implicit_labels, strongest_label_class
from .report import CredentialReport, IngredientFailure, Signer
from .rubric import classify
from .trust import Settings, context_for
from .verdict import (
    active_codes,
    describe,
    failure_words,
    granting_kind,
    signer_state,
    state_for,
)

# Codes that do not make an ingredient "failed": an unknown signer is not tampering.
TOLERATED_CODES = ("signingCredential.untrusted",)
_NO_HOSTS: tuple[str, ...] = ()
_REMOTE = re.compile(r"remote manifests? from url (\S+)", re.IGNORECASE)

_default_settings: Settings | None = None


def default_settings() -> Settings:
    """The shipped trust lists, no operator anchors, no network (made on first use)."""
    global _default_settings
    if _default_settings is None:
        _default_settings = Settings()
    return _default_settings


def read_credentials(
    data: bytes, mime: str | None = None, settings: Settings | None = None
) -> CredentialReport:
    """The credentials of `data`; `present=False` for media without a manifest.

    Raises UnsupportedFormat / MalformedAsset (both ProvenanceError) for bytes
    that are not a supported container or whose manifest store is broken.
    """
    settings = settings or default_settings()
    container = container_of(data, mime)
    try:
        reader = c2pa.Reader.try_create(container, io.BytesIO(data), context=context_for(settings))
    except c2pa.C2paError as exc:
        url = _remote_url(exc)
        if url is None:
            raise _typed(exc) from exc
        hint_fields = _hint_fields(data, container)
        # Only HTTPS to a host and port the operator named; the uploader picks the URL.
        allowed = allowed_host(url, settings.allowed_manifest_hosts)
        if allowed is None:
            return CredentialReport(
                present=False,
                status="remote_manifest_not_fetched",
                remote_url=url,
                evidence=(f"remote manifest at {url} not fetched (not an allowed HTTPS host)",),
                **hint_fields,
            )
        patterns = allowed.sdk_patterns
        try:
            reader = _read_remote(data, container, settings, patterns)
        except c2pa.C2paError as fetch_exc:
            # The host is allowed but the fetch failed: the asset is not at fault.
            return CredentialReport(
                present=False,
                status="remote_manifest_not_fetched",
                remote_url=url,
                evidence=(f"remote manifest at {url} could not be fetched: {fetch_exc}",),
                **hint_fields,
            )
    else:
        patterns = _NO_HOSTS
    if reader is None:
        return CredentialReport(present=False, status="absent", **_hint_fields(data, container))
    with reader:
        store = _store(reader)
        remote = None if reader.is_embedded() else reader.get_remote_url()
    kind = _granting(data, container, settings, patterns, store)
    return _report(store, remote, _hint_fields(data, container), settings, kind)


def read_store(
    data: bytes, mime: str | None = None, settings: Settings | None = None, detailed: bool = False
) -> dict | None:
    """The manifest store as the SDK gives it (c2patool's JSON; `detailed`: every claim field).

    None for media without a manifest; remote manifests are never fetched here.
    """
    reader = _embedded_reader(data, mime, settings)
    if reader is None:
        return None
    with reader:
        return _store(reader, detailed)


def read_crjson(
    data: bytes, mime: str | None = None, settings: Settings | None = None
) -> dict | None:
    """The manifest store as crJSON (C2PA 2.4's JSON form), from the SDK."""
    reader = _embedded_reader(data, mime, settings)
    if reader is None:
        return None
    with reader:
        try:
            return json.loads(reader.crjson())
        except (c2pa.C2paError, ValueError) as exc:
            raise MalformedAsset(f"the manifest store could not be read: {exc}") from exc


def _embedded_reader(data: bytes, mime: str | None, settings: Settings | None):
    settings = settings or default_settings()
    container = container_of(data, mime)
    try:
        return c2pa.Reader.try_create(container, io.BytesIO(data), context=context_for(settings))
    except c2pa.C2paError as exc:
        url = _remote_url(exc)
        if url is not None:
            # inspection never fetches: the uploader chose that URL
            raise ProvenanceError(f"the manifest is remote ({url}) and was not fetched") from exc
        raise _typed(exc) from exc


def _store(reader, detailed: bool = False) -> dict:
    try:
        return json.loads(reader.detailed_json() if detailed else reader.json())
    except (c2pa.C2paError, ValueError) as exc:
        raise MalformedAsset(f"the manifest store could not be read: {exc}") from exc


def _granting(data, container, settings, patterns, store) -> str | None:
    """Which list granted trust; a second read (with fewer lists) only when several could have."""
    if signer_state(store) != "trusted":
        return None
    kinds = settings.kinds() - {"tsa"}

    def trusted_with(kind: str) -> bool:
        context = context_for(settings, patterns, frozenset({kind}))
        reader = c2pa.Reader.try_create(container, io.BytesIO(data), context=context)
        if reader is None:
            return False
        with reader:
            return signer_state(_store(reader)) == "trusted"

    try:
        return granting_kind(kinds, trusted_with)
    except c2pa.C2paError as exc:
        raise _typed(exc) from exc


def _hint_fields(data: bytes, container: str) -> dict:
    # read after the SDK, so a broken or hostile asset is refused before we look further
    hints = read_hints(data, container)
    labels = read_implicit_labels(data, container)
    return {
        "metadata_hints": hints,
        "hint_ai_class": strongest_class(hints),
        "implicit_labels": labels,
        "implicit_ai_class": strongest_label_class(labels),
    }


def _read_remote(data: bytes, container: str, settings: Settings, patterns: tuple[str, ...]):
    # Only here, for an operator-allowed host, does the SDK touch the network.
    return c2pa.Reader.try_create(
        container, io.BytesIO(data), context=context_for(settings, patterns)
    )


def _remote_url(exc: Exception) -> str | None:
    message = str(exc)
    if not message.startswith(("Remote", "RemoteManifest")):
        return None
    match = _REMOTE.search(message)
    return match.group(1) if match else None


def _typed(exc: c2pa.C2paError) -> ProvenanceError:
    message = str(exc)
    if isinstance(exc, c2pa.C2paError.NotSupported) or "type is unsupported" in message:
        return UnsupportedFormat(f"c2pa cannot read this container: {message}")
    return MalformedAsset(f"the asset or its manifest is malformed: {message}")


def _report(
    store: dict, remote_url: str | None, hint_fields: dict, settings: Settings, kind: str | None
) -> CredentialReport:
    active_label = store.get("active_manifest")
    manifests = store.get("manifests") or {}
    active = manifests.get(active_label) or {}
    failures, _ = active_codes(store)
    state = state_for(kind, signer_state(store))
    trusted = settings.list_of(kind) if kind else None
    trusted_by = trusted.name if trusted else None
    info = active.get("signature_info") or {}
    classification = classify(store)
    chain = build_chain(store, state, trusted_by)
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    codes = tuple(
        (str(r.get("code", "?")), str(r.get("url") or ""))
        for group in ("success", "failure", "informational")
        for r in results.get(group) or ()
    )
    return CredentialReport(
        present=True,
        status="read",
        state=state,
        failure_codes=failures,
        signer=Signer(info.get("issuer"), info.get("common_name")) if info else None,
        claim_generator=generator(active),
        signed_at=chain[0].time if chain else info.get("time"),
        active_manifest=active_label,
        manifest_count=len(manifests),
        ai_class=classification.ai_class,
        evidence=classification.evidence,
        ingredient_failures=_ingredient_failures(store),
        remote_url=remote_url,
        trust_list=kind,
        trusted_by=trusted_by,
        state_text=describe(state, trusted_by, failures),
        failure_text=tuple(failure_words(c) for c in failures),
        rubric_class=classification.rubric_class,
        chain=chain,
        identities=identities(active, codes),
        training_mining=training_mining(active),
        ai_tool=ai_tool(store),
        **hint_fields,
    )


def _ingredient_failures(store: dict) -> tuple[IngredientFailure, ...]:
    """Ingredients whose own validation failed, from ingredientDeltas and each ingredient."""
    manifests = store.get("manifests") or {}
    by_uri: dict[str, tuple[str, str | None]] = {}
    for label, manifest in manifests.items():
        for ing in manifest.get("ingredients") or ():
            key = f"self#jumbf=/c2pa/{label}/c2pa.assertions/{ing.get('label', '')}"
            by_uri[key] = (ing.get("title") or "?", ing.get("active_manifest"))
    found: dict[tuple[str, str | None], set[str]] = {}

    def add(who: tuple[str, str | None], entries) -> None:
        codes = {e.get("code", "?") for e in entries or () if e.get("code") not in TOLERATED_CODES}
        if codes:
            found.setdefault(who, set()).update(codes)

    deltas = (store.get("validation_results") or {}).get("ingredientDeltas") or ()
    for delta in deltas:
        uri = delta.get("ingredientAssertionURI", "")
        who = by_uri.get(uri, (uri.rsplit("/", 1)[-1] or "?", None))
        add(who, (delta.get("validationDeltas") or {}).get("failure"))
    for manifest in manifests.values():
        for ing in manifest.get("ingredients") or ():
            who = (ing.get("title") or "?", ing.get("active_manifest"))
            own = ing.get("validation_results") or {}
            add(who, (own.get("activeManifest") or {}).get("failure"))
            add(who, [s for s in ing.get("validation_status") or () if _is_failure(s)])
    return tuple(
        IngredientFailure(title, label, tuple(sorted(codes)))
        for (title, label), codes in sorted(found.items(), key=lambda kv: kv[0][0])
    )


def _is_failure(status: dict) -> bool:
    # validation_status in 1.x ingredients mixes successes in; failures end in a failure word.
    code = status.get("code", "")
    return not code.endswith((".match", ".validated", ".trusted", ".insideValidity"))
