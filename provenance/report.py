"""What `read_credentials` returns: plain frozen values, JSON-friendly through `to_dict`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .hints import MetadataHint

STATES = ("invalid", "valid", "trusted")
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
    state: str | None = None  # invalid | valid | trusted
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

    @property
    def remote_manifest(self) -> bool:
        return self.remote_url is not None

    def to_dict(self) -> dict:
        return asdict(self)
