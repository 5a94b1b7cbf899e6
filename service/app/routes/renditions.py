"""`POST /v1/renditions`: the file the platform will serve, with Durable Content Credentials.

The upload comes back in its own format carrying the platform's invisible
mark (payload: a random 64-bit durable id, `X-AIGC-Durable-Id`) and a C2PA
manifest signed by the platform whose soft binding names that id; the
manifest repository keeps the record recovery and the resolver read. The
decision is the stored one of `scan_id`, else the upload is scanned first.
"""

from __future__ import annotations

import hashlib

import anyio
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from labeler import LabelerError, UploadContext
from labeler.media import sniff_mime
from service.db import session_scope
from service.db.audit import get_scan
from service.durable.records import (
    NotConfigured,
    disclosure_of,
    new_durable_id,
    save,
    signer_from_settings,
)
from service.durable.rendition import FORMATS, RenditionError, render

from ..auth import Principal, require_role
from ..errors import ApiError, labeler_error
from ..forms import check_single_parts
from ..schemas import ID_PATTERN, error_responses

router = APIRouter(prefix="/v1", tags=["renditions"])

KEY_VARIABLE = "AIGC_PLATFORM_WATERMARK_KEY_FILE"


def render_job(*args):
    """`render` in an analysis process, its errors as the API's (they cross the pipe)."""
    try:
        return render(*args)
    except LabelerError as exc:
        raise labeler_error(exc) from None
    except RenditionError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


def _stored_decision(db_url: str, scan_id: str, data: bytes) -> dict:
    with session_scope(db_url) as session:
        row = get_scan(session, scan_id)
        if row is None:
            raise ApiError(404, "not_found", f"no scan with id {scan_id!r}")
        if row.sha256 != hashlib.sha256(data).hexdigest():
            raise ApiError(409, "scan_mismatch", f"scan {scan_id} was made of another file")
        return dict(row.decision)


async def _decision(request: Request, data: bytes, filename, scan_id, principal) -> dict:
    state = request.app.state
    if scan_id:
        return await anyio.to_thread.run_sync(_stored_decision, state.db_url, scan_id, data)
    try:
        result = await state.runner.analyze(
            data, filename, UploadContext(), f"key:{principal.key_id}"
        )
    except LabelerError as exc:
        raise labeler_error(exc) from exc
    return result.decision.to_dict()


def _configured(state):
    if state.platform_key is None:
        raise ApiError(
            503,
            "not_configured",
            f"{KEY_VARIABLE} (or AIGC_PLATFORM_WATERMARK_KEY_ID) is not set: renditions "
            "need the platform's watermark key",
        )
    try:
        return signer_from_settings(state.settings)
    except NotConfigured as exc:
        raise ApiError(503, "not_configured", str(exc)) from None


@router.post(
    "/renditions",
    response_class=Response,
    responses={
        200: {
            "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
            "description": "the rendition, in the upload's format; X-AIGC-Durable-Id names it",
        },
        **error_responses(
            401,
            403,
            404,
            409,
            413,
            415,
            422,
            503,
            s404="no scan with that scan_id",
            s409="scan_id names a scan of another file",
            s415="not a JPEG, PNG or WebP image",
            s503="no platform watermark key or signer configured, or too many analyses waiting",
        ),
    },
    summary="Make the rendition the platform serves: its mark and signed Content Credentials",
)
async def make_rendition(
    request: Request,
    principal: Principal = Depends(require_role("pipeline")),
    file: UploadFile = File(..., description="The upload to serve."),
    scan_id: str | None = Form(
        None, pattern=ID_PATTERN, description="The scan whose decision the rendition records"
    ),
) -> Response:
    await check_single_parts(request, ("file", "scan_id"))
    state = request.app.state
    signer = _configured(state)
    limit = state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"the file is larger than {limit} bytes")
    mime = sniff_mime(data)
    if mime not in FORMATS:
        raise ApiError(415, "unsupported_media", "renditions are made of JPEG, PNG and WebP images")
    decision = await _decision(request, data, file.filename, scan_id, principal)
    disclosure = disclosure_of(decision)
    durable_id = await anyio.to_thread.run_sync(new_durable_id, state.db_url)
    rendition = await state.runner.call(
        render_job,
        data,
        file.filename,
        state.platform_key.key,
        durable_id,
        signer,
        disclosure,
        state.engine.limits,
        state.engine.credentials,
        key=f"key:{principal.key_id}",
    )
    await anyio.to_thread.run_sync(
        lambda: save(
            state.db_url,
            rendition,
            decision,
            disclosure,
            scan_id=scan_id,
            created_by=principal.key_id,
        )
    )
    return Response(
        rendition.data,
        media_type=rendition.mime,
        headers={
            "X-AIGC-Durable-Id": rendition.durable_id,
            "X-C2PA-Manifest-Id": rendition.manifest_id,
        },
    )
