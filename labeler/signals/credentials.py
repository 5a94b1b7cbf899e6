"""The credentials signal: provenance's CredentialReport boiled down for the policy."""

from __future__ import annotations

from dataclasses import dataclass

import provenance

from ..media import Media
from .base import BOOL, LIST, TEXT, LocalSignal, SignalFact, SignalValue

# trusted_legacy: the signer is on the frozen interim list only; still a verified signature
VERIFIED_STATES = ("valid", "trusted", "trusted_legacy")


@dataclass(frozen=True)
class CredentialsSignal(SignalValue):
    """C2PA Content Credentials plus the weaker, unsigned metadata hints."""

    present: bool = False
    # "invalid" | "valid" | "trusted" | "trusted_legacy" when a manifest was read, else None
    state: str | None = None
    # ai_generated | ai_edited | possibly_ai | capture | non_ai_creation | unknown
    ai_class: str = "unknown"
    remote_manifest: bool = False
    failure_codes: tuple[str, ...] = ()
    # an ingredient (parent) whose own validation failed
    ingredient_failures: tuple[str, ...] = ()
    signer: str | None = None
    claim_generator: str | None = None
    evidence: tuple[str, ...] = ()
    # unsigned hints (IPTC DigitalSourceType in XMP, generator metadata) and the
    # AI class they imply; never treated as verified
    metadata_hints: tuple[str, ...] = ()
    hint_ai_class: str | None = None
    error: str | None = None
    # official | operator | legacy: which list granted trust, and its name
    trust_list: str | None = None
    trusted_by: str | None = None
    state_text: str | None = None  # the state in words ("valid signature, untrusted signer ...")
    rubric_class: str | None = None  # C2PA Asset Rubrics 1.0 signal (fullyGenAIMedia, ...)
    signed_at: str | None = None
    # CAWG identities: the names of those whose identity is verified, and every identity in words
    identity_verified: bool = False
    identity_names: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()
    training_mining: tuple[str, ...] = ()
    # one dict per manifest: label, signer, time, claim_generator, actions, ai, state, ...
    chain: tuple[dict, ...] = ()
    ai_tool: str | None = None  # the tool that made the AI part ("Adobe Firefly")
    # GB 45438-2025 implicit AIGC labels (unsigned metadata) and the class they state
    implicit_labels: tuple[str, ...] = ()
    implicit_ai_class: str | None = None


def _verified(value: CredentialsSignal) -> bool:
    return value.present and value.state in VERIFIED_STATES


def _identity_verified(value: CredentialsSignal) -> bool:
    return value.identity_verified


def _identity_names(value: CredentialsSignal) -> tuple[str, ...]:
    return value.identity_names


FACTS = (
    SignalFact("present", BOOL, "a C2PA manifest was found"),
    SignalFact("state", TEXT, "invalid | valid | trusted | trusted_legacy | null"),
    SignalFact(
        "verified",
        BOOL,
        "a manifest is present and its state is valid or trusted",
        _verified,
    ),
    SignalFact("ai_class", TEXT, "what the manifest declares"),
    SignalFact("hint_ai_class", TEXT, "AI class implied by metadata"),
    SignalFact("metadata_hints", LIST, "unsigned metadata hints"),
    SignalFact("evidence", LIST, "assertions behind ai_class"),
    SignalFact("failure_codes", LIST, "validation failure codes"),
    SignalFact("ingredient_failures", LIST, "failed ingredients"),
    SignalFact("signer", TEXT, "certificate subject of the signer"),
    SignalFact("claim_generator", TEXT, "tool that wrote the claim"),
    SignalFact("remote_manifest", BOOL, "manifest fetched remotely"),
    SignalFact("error", TEXT, "why reading credentials failed"),
    SignalFact("trust_list", TEXT, "official | operator | legacy: the list that granted trust"),
    SignalFact("trusted_by", TEXT, "name of the list that granted trust"),
    SignalFact("state_text", TEXT, "the state in words"),
    SignalFact("rubric_class", TEXT, "C2PA Asset Rubrics class behind ai_class"),
    SignalFact("identity.verified", BOOL, "a CAWG identity is verified", _identity_verified),
    SignalFact("identity.names", LIST, "names in verified CAWG identities", _identity_names),
    SignalFact("identities", LIST, "CAWG identities in words, with their state"),
    SignalFact("training_mining", LIST, "training and mining permissions the creator stated"),
    SignalFact("ai_tool", TEXT, "tool named by the action that declared GenAI"),
    SignalFact("implicit_labels", LIST, "GB 45438-2025 implicit AIGC labels (unsigned)"),
    SignalFact("implicit_ai_class", TEXT, "class an implicit AIGC label states"),
)


class Credentials(LocalSignal):
    """Reads the upload's C2PA manifest with the operator's trust settings."""

    name = "credentials"
    value_type = CredentialsSignal
    facts = FACTS
    source_text = "the Content Credentials attached to your file"

    def __init__(self, settings: provenance.Settings | None = None) -> None:
        # None: provenance's defaults (no operator anchors)
        self.settings = settings

    def gather(self, media: Media) -> CredentialsSignal:
        value = _read(media, self.settings)
        # recovery compares what it finds with the upload's own claims
        media.memo["credentials.value"] = value
        return value


def settings_from_env(environ: dict[str, str] | None = None) -> provenance.Settings:
    """Trust settings from AIGC_TRUST_ANCHORS / AIGC_TRUST_LIST / AIGC_ALLOWED_MANIFEST_HOSTS.

    `environ` is those variables as the engine's config resolved them (the
    environment over the configuration file); None reads the environment alone.
    The c2pa Context is built here, once, so a bad anchor file fails at start-up
    (TrustConfigError) instead of quietly reading every upload as untrusted.
    """
    settings = provenance.Settings.from_env(environ)
    provenance.trust.context_for(settings)
    return settings


def _read(media: Media, settings: provenance.Settings | None) -> CredentialsSignal:
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
        trust_list=report.trust_list,
        trusted_by=report.trusted_by,
        state_text=report.state_text,
        rubric_class=report.rubric_class,
        signed_at=report.signed_at,
        identity_verified=any(i.state == "verified" for i in report.identities),
        identity_names=tuple(
            n for i in report.identities if i.state == "verified" for n in i.names
        ),
        identities=tuple(i.describe() for i in report.identities),
        training_mining=report.training_mining,
        chain=tuple(c.to_dict() for c in report.chain),
        ai_tool=report.ai_tool,
        implicit_labels=tuple(label.describe() for label in report.implicit_labels),
        implicit_ai_class=report.implicit_ai_class,
    )


def _safe_hints(media: Media):
    try:
        return provenance.read_hints(media.data, media.mime)
    except Exception:  # hints are optional evidence; the error above is already reported
        return ()


def _code(exc: Exception) -> str:
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
