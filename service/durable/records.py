"""What a rendition needs from the service's settings, and the repository row it leaves."""

from __future__ import annotations

import secrets
from pathlib import Path

import provenance
from labeler.signals.credentials import VERIFIED_STATES
from service.db import session_scope
from service.db.manifests import NewRecord, add_record, id_taken

from .rendition import Disclosure, Rendition


class NotConfigured(Exception):
    """A setting renditions need is missing or unusable; the message names the variable."""


def signer_from_settings(settings) -> provenance.SignerCredentials:
    """The platform's C2PA signer from AIGC_PLATFORM_SIGNING_CERT / _KEY."""
    for name, value in (
        ("AIGC_PLATFORM_SIGNING_CERT", settings.platform_signing_cert),
        ("AIGC_PLATFORM_SIGNING_KEY", settings.platform_signing_key),
    ):
        if not value:
            raise NotConfigured(f"{name} is not set: renditions need the platform's C2PA signer")
        if not Path(value).is_file():
            raise NotConfigured(f"{name}={value!r} is not a readable file")
    return provenance.SignerCredentials.from_files(
        settings.platform_signing_cert,
        settings.platform_signing_key,
        alg=settings.platform_signing_alg,
    )


def disclosure_of(decision: dict) -> Disclosure:
    """The original's label, AI class and origin, from the decision made on it."""
    signals = decision.get("signals") or {}
    creds = signals.get("credentials") or {}
    label = decision.get("label")
    verified = creds.get("present") and creds.get("state") in VERIFIED_STATES
    ai_class = label or (creds.get("ai_class") if verified else None)
    return Disclosure(label=label, ai_class=ai_class, origin=_origin(decision, signals))


def _origin(decision: dict, signals: dict) -> str | None:
    """Who vouched for the label, in an analyst's words (never a bank entry or a score)."""
    source = decision.get("label_source")
    creds = signals.get("credentials") or {}
    mark = signals.get("watermark") or {}
    if source == "credentials" or (source is None and creds.get("signer")):
        signer = creds.get("signer") or creds.get("claim_generator")
        return f"Content Credentials signed by {signer}" if signer else "Content Credentials"
    if source == "watermark":
        return f"invisible watermark of {mark.get('owner') or 'a registered partner'}"
    if source == "match":
        return "a match with known media"
    if source == "creator":
        return "the creator's own disclosure"
    if source == "recovered":
        recovered = signals.get("recovered") or {}
        return recovered.get("origin") or "credentials recovered through the platform's mark"
    return None


def new_durable_id(url: str | None) -> bytes:
    """8 random bytes not yet in the repository (a repeat is a 2^-64 event, checked anyway)."""
    while True:
        candidate = secrets.token_bytes(8)
        with session_scope(url) as session:
            if not id_taken(session, candidate.hex()):
                return candidate


def save(
    url: str | None,
    rendition: Rendition,
    decision: dict,
    disclosure: Disclosure,
    *,
    scan_id: str | None,
    created_by: str | None,
) -> None:
    record = NewRecord(
        durable_id=rendition.durable_id,
        manifest_id=rendition.manifest_id,
        manifest_store=rendition.manifest_store,
        mime=rendition.mime,
        source_sha256=rendition.source_sha256,
        rendition_sha256=rendition.rendition_sha256,
        credentials=rendition.credentials,
        decision=decision,
        ai_class=disclosure.ai_class,
        label=disclosure.label,
        origin=disclosure.origin,
        pdq=rendition.pdq,
        pdq_quality=rendition.pdq_quality,
        pdq_unboxed=rendition.pdq_unboxed,
        phash=rendition.phash,
        features=rendition.features,
        thumbnail=rendition.thumbnail,
        scan_id=scan_id,
        created_by=created_by,
    )
    with session_scope(url) as session:
        add_record(session, record)
