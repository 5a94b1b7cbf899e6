"""The C2PA Soft Binding Resolution API, served: our marks and fingerprints -> our manifests.

Field names follow the specification's OpenAPI (Decoupled / soft binding
section): `supportedAlgorithms` lists `watermarks` and `fingerprints` by
`alg`; a query answers `matches`, each with `manifestId` and
`similarityScore` (0-100; `endpoint` is left out: the manifest is here);
`/manifests/{manifestId}` returns the manifest store as `application/c2pa`.

Open to keys of role `resolver` (and admin), or to anyone with
AIGC_RESOLVER_OPEN=1; every caller is rate limited like label checks. An
answer names manifests only: no bank entry, hash distance or mark score.
"""

from __future__ import annotations

import base64
import binascii
import math

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

import matching
import watermark
from labeler import LabelerError
from labeler.media import decode
from labeler.signals.recovered import fingerprint_match
from service.db import session_scope
from service.db.manifest_source import stored
from service.db.manifests import by_manifest_id, fingerprints, get_record
from service.durable.rendition import FINGERPRINT_ALG, WATERMARK_ALG

from ..auth import Principal, require_role
from ..errors import ApiError, labeler_error
from ..proxies import client_address
from ..schemas import error_responses

router = APIRouter(prefix="/c2pa", tags=["c2pa soft-binding resolver"])

_access = require_role("resolver", open_flag="resolver_open")
_MAX_RESULTS = Query(10, ge=1, le=100, alias="maxResults")
# declared in the OpenAPI document, so a client knows before asking; a value
# outside them is refused with 422 like every other field
_ALG_PATTERN = "^" + WATERMARK_ALG.replace(".", r"\.") + "$"
_VALUE_PATTERN = r"^([A-Za-z0-9+/]{11}=|[0-9A-Fa-f]{16})$"
# the body is the asset itself (the API's form), or a multipart `file` part
_ASSET_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def _limited(request: Request, principal: Principal) -> None:
    caller = principal.key_id or f"addr:{client_address(request)}"
    limiter = request.app.state.label_check_limiter
    wait = await anyio.to_thread.run_sync(limiter.hit, [f"resolver:{caller}"])
    if wait is not None:
        retry = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"too many resolver queries; try again in {retry} s",
            {"Retry-After": str(retry)},
        )


@router.get(
    "/services/supportedAlgorithms",
    summary="The soft-binding algorithms this resolver answers for",
    responses=error_responses(401, 403, 429),
)
async def supported_algorithms(request: Request, principal: Principal = Depends(_access)) -> dict:
    await _limited(request, principal)
    return {"watermarks": [{"alg": WATERMARK_ALG}], "fingerprints": [{"alg": FINGERPRINT_ALG}]}


def durable_id_of(value: str) -> str:
    """A binding value (base64 of 8 bytes, as the API sends it; 16 hex digits too) -> hex."""
    text = value.strip()
    if len(text) == 16 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 8:
        raise ApiError(400, "invalid_value", "value must be base64 of the mark's 8 bytes")
    return raw.hex()


def _by_id(db_url: str, durable_id: str) -> list[dict]:
    with session_scope(db_url) as session:
        row = get_record(session, durable_id)
        return [{"manifestId": row.manifest_id, "similarityScore": 100}] if row else []


@router.get(
    "/matches/byBinding",
    summary="Manifests whose soft binding has this value",
    responses=error_responses(
        400, 401, 403, 422, 429, s400="a value that is not 8 bytes", s422="another alg"
    ),
)
async def by_binding(
    request: Request,
    alg: str = Query(..., pattern=_ALG_PATTERN, description=f"the algorithm: {WATERMARK_ALG}"),
    value: str = Query(
        ...,
        pattern=_VALUE_PATTERN,
        description="the mark's 8 bytes in base64 (16 hex digits are accepted too)",
        examples=["ASNFZ4mrze8="],
    ),
    max_results: int = _MAX_RESULTS,
    principal: Principal = Depends(_access),
) -> dict:
    await _limited(request, principal)
    durable_id = durable_id_of(value)
    matches = await anyio.to_thread.run_sync(_by_id, request.app.state.db_url, durable_id)
    return {"matches": matches[:max_results]}


def content_query(data: bytes, filename: str | None, key: bytes | None, limits):
    """In an analysis process: the platform mark's payload (if any) and the upload's hashes."""
    try:
        media = decode(data, filename, limits)
    except LabelerError as exc:
        raise labeler_error(exc) from None
    if media.kind != "image":
        raise ApiError(415, "unsupported_media", "this resolver matches images only")
    frame = media.frames[0]
    durable_id = None
    if key is not None:
        found = watermark.detect(frame, key)  # too small: not detected, with the reason
        if found.detected and found.payload is not None:
            durable_id = found.payload.hex()
    hashes = matching.compute_hashes(frame, features=durable_id is not None, for_query=True)
    return durable_id, hashes


def _content_matches(db_url: str, durable_id, hashes: matching.Hashes) -> list[dict]:
    config = matching.MatchConfig()
    found: dict[str, int] = {}
    with session_scope(db_url) as session:
        row = get_record(session, durable_id) if durable_id else None
        # a mark counts only on the picture it was made for (a copied mark finds nothing)
        if row is not None and fingerprint_match(stored(row), hashes, config) is not None:
            found[row.manifest_id] = 100
        for _id, manifest_id, pdq, unboxed in fingerprints(session):
            codes = [c for c in (pdq, unboxed) if c]
            distance = min(
                matching.hamming(matching.from_hex(c), q)
                for c in codes
                for q in hashes.pdq_dihedral
            )
            if distance <= config.radius and manifest_id not in found:
                found[manifest_id] = round(100 * (1 - distance / 256))
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    return [{"manifestId": m, "similarityScore": s} for m, s in ranked]


@router.post(
    "/matches/byContent",
    summary="Manifests of this asset: our mark first, then its PDQ against the repository",
    openapi_extra=_ASSET_BODY,
    responses=error_responses(401, 403, 413, 415, 422, 429, 503, s415="not a supported image"),
)
async def by_content(
    request: Request,
    max_results: int = _MAX_RESULTS,
    principal: Principal = Depends(_access),
) -> dict:
    await _limited(request, principal)
    state = request.app.state
    data, filename = await _asset(request, state.settings.max_upload_bytes)
    key = state.platform_key.key if state.platform_key is not None else None
    caller = f"key:{principal.key_id}" if principal.key_id else "resolver"
    durable_id, hashes = await state.runner.call(
        content_query, data, filename, key, state.engine.limits, key=caller
    )
    matches = await anyio.to_thread.run_sync(_content_matches, state.db_url, durable_id, hashes)
    return {"matches": matches[:max_results]}


async def _asset(request: Request, limit: int) -> tuple[bytes, str | None]:
    """The asset as the API sends it (the raw body), or as our other uploads (multipart `file`)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        parts = form.getlist("file")
        if len(parts) != 1 or isinstance(parts[0], str):
            raise ApiError(422, "invalid_request", "send exactly one file part named 'file'")
        data = await parts[0].read(limit + 1)
        filename = parts[0].filename
    else:
        data, filename = await request.body(), None
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"the file is larger than {limit} bytes")
    if not data:
        raise ApiError(422, "invalid_request", "the request carries no asset")
    return data, filename


def _store(db_url: str, manifest_id: str) -> bytes | None:
    with session_scope(db_url) as session:
        row = by_manifest_id(session, manifest_id)
        return bytes(row.manifest_store) if row is not None else None


@router.get(
    "/manifests/{manifestId}",
    response_class=Response,
    responses={
        200: {"content": {"application/c2pa": {}}, "description": "the C2PA manifest store"},
        **error_responses(401, 403, 404, 422, 429, s404="no manifest with that id"),
    },
    summary="The manifest store a match named",
)
async def manifest(
    request: Request,
    manifest_id: str = Path(..., alias="manifestId", max_length=128, pattern=r"^[\x21-\x7e]+$"),
    principal: Principal = Depends(_access),
) -> Response:
    await _limited(request, principal)
    store = await anyio.to_thread.run_sync(_store, request.app.state.db_url, manifest_id)
    if store is None:
        raise ApiError(404, "not_found", "no manifest with that id")
    return Response(store, media_type="application/c2pa")
