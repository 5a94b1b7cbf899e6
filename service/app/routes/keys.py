"""API key administration over HTTP (admin): the same store as `aigc keys`."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from service.db import keys as key_store
from service.db import session_scope
from service.db.audit import add_admin_event

from ..auth import Principal, require_role
from ..errors import ApiError
from ..schemas import ID_PATTERN, NO_NUL, error_responses

router = APIRouter(prefix="/v1/keys", tags=["keys"])
admin = require_role("admin")
_AUTH = {"s403": "not an admin key"}

# the store's roles, as a closed set the OpenAPI lists
Role = Literal[key_store.ROLES]  # type: ignore[valid-type]
Topic = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class KeyModel(BaseModel):
    id: str = Field(examples=["0b8f3c1e6a2d4f7e9c5b1a3d2e4f6a8b"])
    role: str = Field(examples=["pipeline"])
    hint: str = Field(examples=["aigc_Xy3kP0"], description="the key's first characters")
    note: str | None = Field(examples=["upload service, eu-west"])
    created_at: str
    revoked_at: str | None
    organisation: str | None = None
    creator_id: str | None = None
    topics: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)


class NewKeyModel(KeyModel):
    key: str = Field(description="the key itself: shown once, stored only as a hash")


class NewKeyRequest(BaseModel):
    role: Role = Field(examples=["pipeline"], description=", ".join(key_store.ROLES))
    note: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    organisation: str | None = Field(default=None, max_length=128, pattern=NO_NUL)
    creator_id: str | None = Field(default=None, max_length=128, pattern=NO_NUL)
    # a fact_checker sees only cases of these topics (none yet: it sees nothing)
    topics: list[Topic] | None = Field(default=None, max_length=7, examples=[["elections"]])
    languages: list[Language] | None = Field(default=None, max_length=10, examples=[["de"]])


def _audit(url, action: str, principal: Principal, target: str, detail: dict) -> None:
    with session_scope(url) as session:
        add_admin_event(session, action, principal.key_id, target, detail)


@router.post(
    "",
    status_code=201,
    response_model=NewKeyModel,
    responses=error_responses(401, 403, 422, **_AUTH),
)
async def create_key(body: NewKeyRequest, request: Request, principal: Principal = Depends(admin)):
    """Create a key; the response is the only place the key itself ever appears."""
    url = request.app.state.db_url

    def create():
        try:
            return key_store.create_key(
                body.role,
                body.note,
                url=url,
                organisation=body.organisation,
                creator_id=body.creator_id,
                topics=body.topics,
                languages=body.languages,
                require_topics=False,
            )
        except key_store.ApiKeyError as exc:
            raise ApiError(422, "invalid_key", str(exc)) from exc

    info, secret = await anyio.to_thread.run_sync(create)
    await anyio.to_thread.run_sync(
        _audit, url, "key.create", principal, info.id, {"role": info.role}
    )
    return {**info.to_dict(), "key": secret}


@router.get("", response_model=list[KeyModel], responses=error_responses(401, 403, **_AUTH))
async def list_keys(request: Request, _principal: Principal = Depends(admin)):
    rows = await anyio.to_thread.run_sync(key_store.list_keys, request.app.state.db_url)
    return [info.to_dict() for info in rows]


@router.delete(
    "/{key_id}",
    response_model=KeyModel,
    responses=error_responses(401, 403, 404, 422, s404="no such key", **_AUTH),
)
async def revoke_key(
    request: Request,
    key_id: str = Path(pattern=ID_PATTERN, examples=["0b8f3c1e6a2d4f7e9c5b1a3d2e4f6a8b"]),
    principal: Principal = Depends(admin),
):
    """Revoke a key: every request with it gets 401 from now on."""
    url = request.app.state.db_url

    def revoke():
        try:
            return key_store.revoke_key(key_id, url=url)
        except key_store.ApiKeyError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc

    info = await anyio.to_thread.run_sync(revoke)
    await anyio.to_thread.run_sync(
        _audit, url, "key.revoke", principal, info.id, {"role": info.role}
    )
    return info.to_dict()
