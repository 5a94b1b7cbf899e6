"""The credentials signal: provenance's CredentialReport boiled down for the policy."""

from __future__ import annotations

import provenance

from .media import Media
from .signals import CredentialsSignal


def settings_from_env() -> provenance.Settings:
    """Trust settings from AIGC_TRUST_ANCHORS / AIGC_TRUST_LIST / AIGC_ALLOWED_MANIFEST_HOSTS.

    The c2pa Context is built here, once, so a bad anchor file fails at start-up
    (TrustConfigError) instead of quietly reading every upload as untrusted.
    """
    settings = provenance.Settings.from_env()
    provenance.trust.context_for(settings)
    return settings


def gather(media: Media, engine) -> CredentialsSignal:
    settings = getattr(engine, "credentials", None)
    try:
        report = provenance.read_credentials(media.data, media.mime, settings)
    except (provenance.MalformedAsset, provenance.UnsupportedFormat) as exc:
        # The pixels decoded fine; only the manifest is broken or unreadable. The
        # upload is still scanned, and the hints in the unsigned metadata still count.
        hints = _safe_hints(media)
        return CredentialsSignal(
            present=False,
            error=f"{_code(exc)}: {exc}",
            metadata_hints=tuple(h.describe() for h in hints),
            hint_ai_class=provenance.strongest_class(hints),
        )
    return from_report(report)


def from_report(report: provenance.CredentialReport) -> CredentialsSignal:
    signer = None
    if report.signer is not None:
        cn, issuer = report.signer.common_name, report.signer.issuer
        signer = f"{cn} (issued by {issuer})" if cn and issuer else (cn or issuer)
    failures = report.failure_codes
    if report.status == "remote_manifest_not_fetched":
        failures = (*failures, "remote_manifest_not_fetched")
    return CredentialsSignal(
        present=report.present,
        state=report.state,
        ai_class=report.ai_class,
        remote_manifest=report.remote_manifest,
        failure_codes=failures,
        ingredient_failures=tuple(f.describe() for f in report.ingredient_failures),
        signer=signer,
        claim_generator=report.claim_generator,
        evidence=report.evidence,
        metadata_hints=tuple(h.describe() for h in report.metadata_hints),
        hint_ai_class=report.hint_ai_class,
    )


def _safe_hints(media: Media):
    try:
        return provenance.read_hints(media.data, media.mime)
    except Exception:  # hints are optional evidence; the error above is already reported
        return ()


def _code(exc: Exception) -> str:
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
