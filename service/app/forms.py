"""The multipart upload shared by /v1/scan and /v1/label-check: a file plus upload context."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import File, Form, Request, UploadFile

from labeler import UploadContext

from .errors import ApiError

# generous for any platform's ids; the bound keeps hostile ids out of rate-limit buckets
MAX_CREATOR_ID = 256


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None
    context: UploadContext


async def upload_form(
    request: Request,
    file: UploadFile = File(..., description="The image or video; its type is sniffed."),
    creator_id: str | None = Form(
        None, description=f"at most {MAX_CREATOR_ID} characters", examples=["creator-42"]
    ),
    creator_disclosed_ai: str | None = Form(
        None,
        description="true: the creator declared AI use; false: declared none; empty: not asked",
        examples=["false"],
    ),
    caption: str | None = Form(None, examples=["Sunset over the harbour"]),
    hashtags: str | None = Form(None, description="comma-separated", examples=["sunset,harbour"]),
    sensitive_topics: str | None = Form(
        None, description="comma-separated topics the caller already knows", examples=["elections"]
    ),
    creator_history: str | None = Form(
        None, description="earlier confirmed violations by this creator", examples=["0"]
    ),
) -> Upload:
    if creator_id is not None and len(creator_id) > MAX_CREATOR_ID:
        raise ApiError(
            422,
            "invalid_context",
            f"creator_id must be at most {MAX_CREATOR_ID} characters, not {len(creator_id)}",
        )
    limit = request.app.state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"the file is larger than {limit} bytes")
    if not data:
        raise ApiError(422, "empty_file", "the uploaded file is empty")
    try:
        context = UploadContext.from_dict(
            {
                "creator_id": creator_id,
                "creator_disclosed_ai": creator_disclosed_ai,
                "caption": caption,
                "hashtags": hashtags,
                "sensitive_topics": sensitive_topics,
                "creator_history": creator_history,
            }
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_context", str(exc)) from exc
    if context.creator_history is not None and context.creator_history < 0:
        raise ApiError(422, "invalid_context", "creator_history must not be negative")
    return Upload(data, file.filename or None, context)
