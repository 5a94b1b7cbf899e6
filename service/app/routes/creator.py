"""The creator's side: tokens the platform mints for its creators, and their own cases.

The platform's backend holds a pipeline (or admin) key and mints a creator
token for the creator signed in on its side; the creator page (and any call
a creator makes: label checks, appeals) carries that token instead of a key.
"""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from service.db import session_scope
from service.db.cases import CaseRow

from .. import creator_tokens as tokens
from ..auth import Principal, require_role
from ..errors import ApiError
from ..schemas import NO_NUL, error_responses

router = APIRouter(prefix="/v1", tags=["creators"])
minters = require_role(*tokens.MINTERS)
creators = require_role("creator")
# a creator sees this many of their newest cases
CASES_SHOWN = 50


class CreatorTokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    creator_id: str = Field(min_length=1, max_length=128, pattern=NO_NUL, examples=["creator-8812"])
    ttl: int = Field(
        default=tokens.DEFAULT_TTL_S,
        ge=tokens.MIN_TTL_S,
        le=tokens.MAX_TTL_S,
        description="seconds the token is valid",
        examples=[900],
    )


class CreatorTokenModel(BaseModel):
    token: str = Field(description="send as Authorization: Bearer <token>; ct1.<claims>.<mac>")
    creator_id: str = Field(examples=["creator-8812"])
    expires_at: str = Field(examples=["2026-12-01T18:45:00+00:00"], description="ISO 8601, UTC")
    ttl: int = Field(examples=[900])


class CreatorCase(BaseModel):
    id: str = Field(examples=["4f6c2b7a9d1e4c3b8a7f6e5d4c3b2a19"])
    scan_id: str | None = None
    status: str = Field(examples=["decided"], description="open | in_review | decided | appealed")
    verdict: str | None = Field(default=None, examples=["unverified"])
    appealable: bool = Field(description="decided and not appealed yet: POST .../appeal works")
    created_at: str


class CreatorCases(BaseModel):
    items: list[CreatorCase]


@router.post(
    "/creator-tokens",
    status_code=201,
    response_model=CreatorTokenModel,
    responses=error_responses(
        401,
        403,
        422,
        503,
        s403="not a pipeline or admin key",
        s503="no AIGC_CREATOR_TOKEN_SECRET(_FILE) configured",
    ),
    summary="Mint a short-lived creator token (the platform's backend)",
)
async def mint_token(
    body: CreatorTokenBody, request: Request, principal: Principal = Depends(minters)
) -> dict:
    """A token naming the creator id and this key, valid for `ttl` seconds; it stops
    working at once when this key is revoked. The creator page takes it from its URL
    fragment (`/check#token=...`) or from a postMessage of the embedding page."""
    if principal.via_token:
        raise ApiError(403, "forbidden", "a creator token may not mint tokens")
    try:
        secret = tokens.secret_of(request.app.state.settings)
    except tokens.TokenError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    token = tokens.mint(secret, body.creator_id, str(principal.key_id), body.ttl)
    claims = tokens.decode(secret, token)
    expires = datetime.fromtimestamp(claims.expires_at, UTC).isoformat()
    return {"token": token, "creator_id": body.creator_id, "expires_at": expires, "ttl": body.ttl}


def _own_cases(url: str | None, creator_id: str) -> list[dict]:
    with session_scope(url) as session:
        rows = session.scalars(
            select(CaseRow)
            .where(CaseRow.creator_id == creator_id)
            .order_by(CaseRow.created_at.desc(), CaseRow.id)
            .limit(CASES_SHOWN)
        ).all()
        return [
            {
                "id": r.id,
                "scan_id": r.scan_id,
                "status": r.status,
                "verdict": r.verdict,
                "appealable": r.status == "decided" and not r.appeals,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ]


@router.get(
    "/creator/cases",
    response_model=CreatorCases,
    responses=error_responses(
        401, 403, s403="not a creator, or a creator key without a creator id"
    ),
    summary="The creator's own reviewed uploads, newest first (creators)",
)
async def own_cases(request: Request, principal: Principal = Depends(creators)) -> dict:
    """Each case's state and verdict only (never the reviewers' evidence); a decided
    case can be appealed once with `POST /v1/cases/{id}/appeal`."""
    if not principal.creator_id:
        raise ApiError(403, "forbidden", "this key speaks for no creator id")
    items = await anyio.to_thread.run_sync(
        _own_cases, request.app.state.db_url, principal.creator_id
    )
    return {"items": items}
