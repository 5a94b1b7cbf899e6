"""`POST /v1/watermark/embed`: mark media with the platform's own key.

The key is the server's (a key file, or a key id in the watermark key
registry, both set by the operator); a request can never choose it, so a
partner cannot mint marks under someone else's key.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import anyio
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from PIL import Image

import watermark
from labeler import LabelerError
from labeler.media import decode
from labeler.signals.watermark.keys import WatermarkKeyError, read_key_file
from service.db import session_scope
from service.db.audit import add_admin_event

from ..auth import Principal, require_role
from ..errors import ApiError, labeler_error
from ..forms import check_single_parts
from ..schemas import error_responses

router = APIRouter(prefix="/v1/watermark", tags=["watermark"])

# output format per input type; anything else comes back as PNG (lossless)
_FORMATS = {
    "image/jpeg": ("JPEG", "image/jpeg", {"quality": 95}),
    "image/png": ("PNG", "image/png", {}),
    "image/webp": ("WEBP", "image/webp", {"quality": 95}),
}
_PNG = ("PNG", "image/png", {})


@dataclass(frozen=True)
class PlatformKey:
    key_id: str
    key: bytes


def load_platform_key(settings, registry) -> PlatformKey | None:
    """The configured key, None when none is configured; a broken configuration raises."""
    if settings.platform_watermark_key_file:
        path = settings.platform_watermark_key_file
        return PlatformKey(settings.platform_watermark_key_id or "platform", read_key_file(path))
    if settings.platform_watermark_key_id:
        entry = registry.get(settings.platform_watermark_key_id) if registry else None
        if entry is None:
            raise WatermarkKeyError(
                f"AIGC_PLATFORM_WATERMARK_KEY_ID={settings.platform_watermark_key_id!r} is not "
                "in the watermark key registry (AIGC_WATERMARK_KEYS)"
            )
        return PlatformKey(entry.key_id, entry.key)
    return None


def _mark(data: bytes, filename: str | None, payload: bytes, key: bytes, limits):
    try:
        media = decode(data, filename, limits)
    except LabelerError as exc:
        raise labeler_error(exc) from exc
    if media.kind != "image":
        raise ApiError(415, "unsupported_media", "only images can be marked over HTTP for now")
    try:
        marked = watermark.embed(media.frames[0], payload, key)
    except watermark.WatermarkError as exc:
        raise ApiError(422, "cannot_watermark", str(exc)) from exc
    fmt, mime, options = _FORMATS.get(media.mime, _PNG)
    buf = io.BytesIO()
    Image.fromarray(marked).save(buf, format=fmt, **options)
    return buf.getvalue(), mime, media.sha256


@router.post(
    "/embed",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
            "description": "the marked image, in the input's format (PNG for others)",
        },
        **error_responses(
            401,
            403,
            413,
            415,
            422,
            503,
            s422="bad payload, too small or undecodable image",
            s503="no platform watermark key is configured, or too many analyses waiting",
        ),
    },
    summary="Embed the platform's invisible watermark (partners and admins)",
)
async def embed(
    request: Request,
    principal: Principal = Depends(require_role("partner")),
    file: UploadFile = File(..., description="The image to mark."),
    payload: str = Form(
        ...,
        description="8 bytes as 16 hex digits, carried by the mark",
        pattern=r"^[0-9A-Fa-f]{16}$",
        examples=["00000000c0ffee01"],
    ),
) -> Response:
    await check_single_parts(request, ("file", "payload"))
    state = request.app.state
    key: PlatformKey | None = state.platform_key
    if key is None:
        raise ApiError(503, "watermark_not_configured", "this server has no platform watermark key")
    try:
        payload_bytes = bytes.fromhex(payload.strip())
    except ValueError:
        raise ApiError(422, "invalid_payload", "payload must be hex digits") from None
    if len(payload_bytes) != 8:
        raise ApiError(422, "invalid_payload", "payload must be 8 bytes (16 hex digits)")
    limit = state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"the file is larger than {limit} bytes")
    marked, mime, source_sha = await state.runner.call(
        _mark,
        data,
        file.filename,
        payload_bytes,
        key.key,
        state.engine.limits,
        key=f"key:{principal.key_id}",
    )

    def audit() -> None:
        with session_scope(state.db_url) as session:
            add_admin_event(
                session,
                "watermark.embed",
                principal.key_id,
                source_sha,
                {
                    "key_id": key.key_id,
                    "payload": payload_bytes.hex(),
                    "output_sha256": hashlib.sha256(marked).hexdigest(),
                },
            )

    await anyio.to_thread.run_sync(audit)
    return Response(
        marked,
        media_type=mime,
        headers={"X-Watermark-Key-Id": key.key_id, "X-Watermark-Payload": payload_bytes.hex()},
    )
