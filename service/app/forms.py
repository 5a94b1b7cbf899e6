"""The multipart upload shared by /v1/scan and /v1/label-check: a file plus upload context.

FastAPI binds a repeated form field to its last value, so two `file` parts
would have the first one dropped silently and the last one scanned: a caller
(or an attacker probing the policy) must learn that only one file is read.
`check_single_parts` refuses repeats of every single-valued field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import File, Form, Request, UploadFile

from labeler import UploadContext

from .errors import ApiError
from .schemas import NO_NUL

# Bounds on the context fields; generous for real uploads (a caption of a few
# thousand characters), small enough that no field is a way to store a blob.
MAX_CREATOR_ID = 256
MAX_CAPTION = 5000
MAX_LIST_TEXT = 2000

# generous for any platform's ids; the bound keeps hostile ids out of rate-limit buckets
MAX_CREATOR_ID = 256


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None
    context: UploadContext


async def check_single_parts(request: Request, names: Iterable[str]) -> None:
    """422 when any of `names` occurs more than once in the multipart body."""
    form = await request.form()  # already parsed by FastAPI: this is its cached copy
    for name in names:
        count = len(form.getlist(name))
        if count > 1:
            what = "file part" if name == "file" else "field"
            raise ApiError(
                422,
                "invalid_request",
                f"exactly one `{name}` {what} is allowed, the request has {count}",
            )


_UPLOAD_FIELDS = (
    "file",
    "creator_id",
    "creator_disclosed_ai",
    "caption",
    "hashtags",
    "sensitive_topics",
    "creator_history",
)


async def upload_form(
    request: Request,
    file: UploadFile = File(..., description="The image or video; its type is sniffed."),
    creator_id: str | None = Form(
        None, max_length=MAX_CREATOR_ID, pattern=NO_NUL, examples=["creator-42"]
    ),
    creator_disclosed_ai: str | None = Form(
        None,
        description="true: the creator declared AI use; false: declared none; empty: not asked",
        # spelled out rather than (?i:...): JSON Schema patterns are ECMA-262
        pattern=r"^(true|false|True|False|TRUE|FALSE|yes|no|on|off|1|0)$",
        examples=["false"],
    ),
    caption: str | None = Form(
        None, max_length=MAX_CAPTION, pattern=NO_NUL, examples=["Sunset over the harbour"]
    ),
    hashtags: str | None = Form(
        None,
        max_length=MAX_LIST_TEXT,
        pattern=NO_NUL,
        description="comma-separated",
        examples=["sunset,harbour"],
    ),
    sensitive_topics: str | None = Form(
        None,
        max_length=MAX_LIST_TEXT,
        pattern=NO_NUL,
        description="comma-separated topics the caller already knows",
        examples=["elections"],
    ),
    creator_history: str | None = Form(
        None,
        description="earlier confirmed violations by this creator (0 to 999999)",
        pattern=r"^[0-9]{1,6}$",
        examples=["0"],
    ),
) -> Upload:
    await check_single_parts(request, _UPLOAD_FIELDS)
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
    return Upload(data, file.filename or None, context)
