"""What `read_credentials` returns: plain frozen values, JSON-friendly through `to_dict`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .chain import ChainEntry
from .hints import MetadataHint
from .identity import Identity
from .implicit import ImplicitLabel

# trusted: official C2PA list or operator anchors; trusted_legacy: the frozen interim list only
STATES = ("invalid", "valid", "trusted", "trusted_legacy")
# "absent": no JUMBF / no manifest; "read": a manifest store was read;
# "remote_manifest_not_fetched": only a URL to a remote manifest, left alone.
STATUSES = ("absent", "read", "remote_manifest_not_fetched")


@dataclass(frozen=True)
class Signer:
    issuer: str | None
    common_name: str | None


@dataclass(frozen=True)
class IngredientFailure:
    title: str
    manifest: str | None
    codes: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.title}: {', '.join(self.codes)}"


@dataclass(frozen=True)
class CredentialReport:
    present: bool
    status: str
    state: str | None = None  # invalid | valid | trusted | trusted_legacy
    failure_codes: tuple[str, ...] = ()
    signer: Signer | None = None
    claim_generator: str | None = None
    signed_at: str | None = None  # ISO 8601 as the manifest's signature info gives it
    active_manifest: str | None = None
    manifest_count: int = 0
    ai_class: str = "unknown"
    evidence: tuple[str, ...] = ()
    ingredient_failures: tuple[IngredientFailure, ...] = ()
    remote_url: str | None = None
    metadata_hints: tuple[MetadataHint, ...] = ()
    hint_ai_class: str | None = None
    # which list granted trust: official | operator | legacy (None unless trusted)
    trust_list: str | None = None
    trusted_by: str | None = None  # that list's name, e.g. "C2PA Trust List"
    state_text: str | None = None  # the state in words, with why it is invalid
    failure_text: tuple[str, ...] = ()  # each failure code in words
    rubric_class: str | None = None  # C2PA Asset Rubrics 1.0 signal behind ai_class
    # the active manifest and each ingredient manifest below it (label, signer, time, ...)
    chain: tuple[ChainEntry, ...] = ()
    identities: tuple[Identity, ...] = ()  # CAWG identity assertions of the active manifest
    training_mining: tuple[str, ...] = ()  # "cawg.ai_generative_training: notAllowed"
    ai_tool: str | None = None  # the tool named by the action that declared GenAI
    # GB 45438-2025 implicit AIGC labels in the metadata (unsigned, like the hints)
    implicit_labels: tuple[ImplicitLabel, ...] = ()
    implicit_ai_class: str | None = None

    @property
    def remote_manifest(self) -> bool:
        return self.remote_url is not None

    def to_dict(self) -> dict:
        return asdict(self)
