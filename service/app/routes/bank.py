"""Bank administration (`/v1/bank/entries`) and HMA's lookup (`/m/lookup`).

The store and the index live in `service.bank`; these
routes only translate HTTP to its functions, record who changed what in the
admin audit trail, and map its errors (each carries `.code` and
`.http_status`) to the service's JSON error shape.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from service import bank as bank_store
from service.db import session_scope
from service.db.audit import add_admin_event

from ..auth import Principal, require_role
from ..errors import ApiError
from ..forms import check_single_parts
from ..schemas import HEX64, MAX_DB_ID, MAX_PAGE, NO_NUL, error_responses

router = APIRouter(tags=["bank"])
admin = require_role("admin")

_MEANINGS = {
    "s403": "not an admin key",
    "s404": "no such entry",
    "s409": "the media is already in the bank",
    "s413": "the file is larger than the byte limit",
    "s415": "not a supported image or video",
    "s422": "bad category, severity, hash, text or paging; or an image too flat to hash",
}

# built-in or operator-defined snake_case names; the store folds case
CATEGORY_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
Severity = Literal[bank_store.SEVERITIES]  # type: ignore[valid-type]
# the multipart body: a file or a PDQ hash, exactly one of them
_ADD_BODY_ONE_OF = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"oneOf": [{"required": ["file"]}, {"required": ["pdq"]}]}
            }
        }
    }
}


class EntryModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int = Field(examples=[17])
    category: str = Field(examples=["misleading_deepfake"])
    severity: str | None = Field(examples=["high"])
    note: str | None = Field(examples=["Fabricated speech video still, debunked by AFP"])
    source: str | None = Field(examples=["fact_checker"])
    added_by: str | None
    added_at: str
    active: bool
    pdq: str = Field(description="PDQ, 64 hex digits")


class EntryPageModel(BaseModel):
    items: list[EntryModel]
    total: int = Field(examples=[1])
    page: int = Field(examples=[1])
    per_page: int = Field(examples=[50])


async def _call(fn, *args, **kwargs):
    def run():
        try:
            return fn(*args, **kwargs)
        except bank_store.BankStoreError as exc:
            raise ApiError(exc.http_status, exc.code, str(exc)) from exc

    return await anyio.to_thread.run_sync(run)


def _audit(url: str | None, action: str, principal: Principal, target, detail: dict) -> None:
    with session_scope(url) as session:
        add_admin_event(session, action, principal.key_id, str(target), detail)


def _after_change(url: str | None) -> None:
    # this worker sees its own change at once; others notice the version bump
    bank_store.index_cache(url).refresh()


@router.post(
    "/v1/bank/entries",
    status_code=201,
    response_model=EntryModel,
    responses=error_responses(401, 403, 409, 413, 415, 422, **_MEANINGS),
    openapi_extra=_ADD_BODY_ONE_OF,
    summary="Add known manipulated media (upload the file, or give its PDQ hash)",
)
async def add_entry(
    request: Request,
    principal: Principal = Depends(admin),
    file: UploadFile | None = File(None, description="The media; hashed, never stored."),
    pdq: str | None = Form(
        None, pattern=HEX64, description="PDQ hash (64 hex digits) instead of a file"
    ),
    category: str = Form(..., pattern=CATEGORY_PATTERN, examples=["misleading_deepfake"]),
    severity: Severity | None = Form(None, examples=["high"]),
    note: str | None = Form(None, max_length=4000, pattern=NO_NUL),
    source: str | None = Form(None, max_length=128, pattern=NO_NUL, examples=["fact_checker"]),
    external_id: str | None = Form(None, max_length=256, pattern=NO_NUL),
) -> dict:
    await check_single_parts(
        request, ("file", "pdq", "category", "severity", "note", "source", "external_id")
    )
    url = request.app.state.db_url
    data = None
    if file is not None:
        limit = request.app.state.settings.max_upload_bytes
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "payload_too_large", f"the file is larger than {limit} bytes")
    if (data is None) == (not pdq):
        raise ApiError(
            422, "invalid_entry", "give either a file or a pdq hash, not both or neither"
        )
    entry = await _call(
        bank_store.add_entry,
        data,
        filename=file.filename if file is not None else None,
        pdq_hex=pdq or None,
        category=category,
        severity=severity,
        note=note,
        source=source,
        added_by=principal.key_id,
        external_id=external_id,
        url=url,
    )
    detail = {"category": entry.category, "severity": entry.severity, "source": entry.source}
    await anyio.to_thread.run_sync(_audit, url, "bank.add", principal, entry.id, detail)
    await anyio.to_thread.run_sync(_after_change, url)
    return entry.to_dict()


@router.get(
    "/v1/bank/entries",
    response_model=EntryPageModel,
    responses=error_responses(401, 403, 422, **_MEANINGS),
    summary="List bank entries, newest first, with paging and filters",
)
async def list_entries(
    request: Request,
    _principal: Principal = Depends(admin),
    category: str | None = Query(None, pattern=CATEGORY_PATTERN, examples=["misleading_deepfake"]),
    source: str | None = Query(None, max_length=128, pattern=NO_NUL),
    state: Literal["active", "removed", "all"] = Query("active"),
    # bounded so that the row offset stays far inside a 64-bit integer
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(50, ge=1, le=1000),
) -> dict:
    active = {"active": True, "removed": False, "all": None}[state]
    result = await _call(
        bank_store.list_entries,
        category=category,
        source=source,
        active=active,
        page=page,
        per_page=per_page,
        url=request.app.state.db_url,
    )
    return {
        "items": [e.to_dict() for e in result.items],
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
    }


@router.delete(
    "/v1/bank/entries/{entry_id}",
    response_model=EntryModel,
    responses=error_responses(401, 403, 404, 422, **_MEANINGS),
    summary="Remove an entry (soft delete: kept for audits, no longer matched)",
)
async def remove_entry(
    request: Request,
    entry_id: int = Path(ge=1, le=MAX_DB_ID, examples=[17]),
    principal: Principal = Depends(admin),
) -> dict:
    url = request.app.state.db_url
    entry = await _call(bank_store.remove_entry, entry_id, removed_by=principal.key_id, url=url)
    detail = {"category": entry.category}
    await anyio.to_thread.run_sync(_audit, url, "bank.remove", principal, entry.id, detail)
    await anyio.to_thread.run_sync(_after_change, url)
    return entry.to_dict()


@router.get(
    "/m/lookup",
    responses=error_responses(401, 403, 422, s403="the key's role may not call this"),
    summary="HMA-compatible lookup: matches per bank with content id and distance",
)
async def hma_lookup(
    request: Request,
    signal_type: Literal["pdq"] = Query(..., examples=["pdq"]),
    signal: str = Query(..., pattern=HEX64, description="PDQ hash, 64 hex digits"),
    _principal: Principal = Depends(require_role("analyst")),
) -> dict[str, Any]:
    """Answers like Meta's hasher-matcher-actioner `GET /m/lookup`:
    `{"<bank>": [{"bank_content_id": 17, "distance": "4"}]}`; banks are categories."""
    return await _call(bank_store.hma_lookup, signal_type, signal, url=request.app.state.db_url)


def bank_size(url: str | None) -> int | None:
    try:
        return bank_store.list_entries(page=1, per_page=1, url=url).total
    except Exception:
        return None


def index_status(url: str | None) -> str:
    try:
        bank_store.index_cache(url).current()
        return "ok"
    except Exception as exc:
        return f"not loaded: {type(exc).__name__}: {exc}"
