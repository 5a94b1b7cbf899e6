"""Response shapes, so the generated OpenAPI documents every field with an example."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Bounds that every endpoint shares; they appear in the OpenAPI document, so a
# client (or a fuzzer) knows what is valid before it asks.
#
# NUL is refused in every text field: PostgreSQL cannot store it, the file
# system cannot open a path holding it, and no honest caption needs it.
NO_NUL = r"^[^\x00]*$"
# integer ids live in 32-bit columns (SQLAlchemy's Integer is PostgreSQL's
# int4): a larger id can only be a miss, and PostgreSQL refuses to compare it
MAX_DB_ID = 2**31 - 1
MAX_PATH_CHARS = 4096
MAX_PAGE = 1_000_000
# ids we hand out are hex (uuid4 hex, 32 digits); anything of this shape is looked up
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
HEX64 = r"^[0-9A-Fa-f]{64}$"


class ErrorDetail(BaseModel):
    code: str = Field(examples=["unsupported_media"])
    message: str = Field(examples=["not a supported image or video"])


class ErrorBody(BaseModel):
    error: ErrorDetail


# what each status means, unless a route says more precisely
_STATUS_MEANING = {
    400: "the query is malformed",
    401: "no, malformed, unknown or revoked API key",
    403: "the key's role may not call this",
    404: "no such resource",
    409: "conflicts with what is stored",
    413: "the body is larger than the byte limit",
    415: "not a supported type (sniffed from the bytes)",
    422: "a field is missing, out of bounds or malformed, or the content is unusable",
    429: "rate limited; see Retry-After",
    503: "the server is not configured for this, or overloaded; see Retry-After",
}


def error_responses(*statuses: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the ErrorBody model.

    `meanings` overrides a description, keyed `s404="no such job"`.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description = meanings.get(f"s{status}", _STATUS_MEANING[status])
        out[status] = {"model": ErrorBody, "description": description}
    return out


class ReasonModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(examples=["c2pa.ai_generated"])
    message: str = Field(
        examples=["Content Credentials (valid) declare the asset generated with generative AI."]
    )
    evidence: dict[str, Any] = Field(default_factory=dict)


class DecisionModel(BaseModel):
    # the policy may grow fields; they pass through rather than being dropped
    model_config = ConfigDict(extra="allow")
    action: str = Field(
        examples=["label"], description="none | require_disclosure | label | escalate | remove"
    )
    label: str | None = Field(
        examples=["ai_generated"], description="ai_generated | ai_edited | null"
    )
    label_source: str | None = Field(default=None, examples=["credentials"])
    distribution: str = Field(default="normal", examples=["normal"])
    reasons: list[ReasonModel]
    policy_version: str = Field(
        examples=["2026.12-3"], description="the version line of the policy file that decided"
    )
    signals: dict[str, Any] = Field(description="the signal summaries the policy read")
    media: dict[str, Any] = Field(default_factory=dict)


class ScanResponse(BaseModel):
    scan_id: str = Field(examples=["4f6c2b7a9d1e4c3b8a7f6e5d4c3b2a19"])
    elapsed_ms: float = Field(examples=[41.7], description="server time spent on this scan")
    decision: DecisionModel
    case_id: str | None = Field(
        default=None, description="the review case an escalation opened (GET /v1/cases/{id})"
    )


class CurrentState(BaseModel):
    action: str | None = Field(examples=["remove"], description="what the platform applies now")
    label: str | None = None
    distribution: str = Field(examples=["reduced"], description="normal | reduced | removed")
    notice: str | None = Field(default=None, examples=["unverified_claim"])


class ScanCase(BaseModel):
    id: str
    status: str = Field(examples=["decided"])
    verdict: str | None = Field(default=None, examples=["confirmed_misleading"])


class ScanRecordResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    scan_id: str
    created_at: str = Field(examples=["2026-11-25T14:03:12.345678+00:00"])
    endpoint: str = Field(examples=["scan"])
    sha256: str
    perceptual_hash: str | None = Field(description="PDQ, 64 hex digits")
    mime: str | None = Field(examples=["image/jpeg"])
    action: str
    label: str | None
    policy_version: str
    signals: dict[str, Any]
    decision: dict[str, Any]
    context: dict[str, Any]
    api_key_id: str | None
    elapsed_ms: float
    case: ScanCase | None = Field(default=None, description="the review case, if one was opened")
    current: CurrentState | None = Field(
        default=None, description="the state after review (the decision stays as made)"
    )


class LabelCheckResponse(BaseModel):
    """labeler.explain's creator-facing answer: codes become fixed sentences, no numbers."""

    check_id: str = Field(examples=["9a1b2c3d4e5f60718293a4b5c6d7e8f9"])
    action: str = Field(examples=["label"])
    will_label: bool = Field(examples=[True])
    label: str | None = Field(examples=["ai_generated"])
    label_text: str | None = Field(examples=["AI-generated"])
    disclosure_required: bool = Field(examples=[False])
    under_review: bool = Field(
        examples=[False], description="a person reviews the upload before wide distribution"
    )
    removed: bool = Field(
        default=False,
        examples=[False],
        description="the upload is not published: it matches media confirmed as misleading",
    )
    headline: str = Field(
        examples=[
            "It will carry an “AI-generated” label, based on the Content Credentials "
            "attached to your file."
        ]
    )
    why: list[str] = Field(
        examples=[["Your file's Content Credentials say it was created with generative AI."]]
    )
    text: str = Field(description="headline and reasons as one paragraph")
    display: dict[str, Any] | None = Field(
        default=None,
        description=(
            "the label people are shown: icon (the EU common AI icon), text per language, "
            "first_exposure, source in plain words; null when nothing is labelled"
        ),
        examples=[
            {
                "icon": "eu-common-ai-icon",
                "label": "ai_generated",
                "text": {"en": "AI-generated", "nl": "Gemaakt met AI"},
                "first_exposure": True,
                "source": "Content Credentials from Adobe Firefly",
            }
        ],
    )
