"""Admin views of the review loop's plumbing: the webhook outbox and its dead letters."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from service.db import session_scope
from service.db.outbox import STATES
from service.db.retro import JOB_STATES
from service.review import events, retro

from ..auth import Principal, require_role
from ..schemas import MAX_DB_ID, MAX_PAGE, error_responses
from .cases import review_call

router = APIRouter(prefix="/v1/admin", tags=["admin"])
admin = require_role("admin")


class OutboxPage(BaseModel):
    counts: dict[str, int] = Field(examples=[{"pending": 0, "delivered": 12, "dead": 1}])
    state: str
    items: list[dict[str, Any]]
    page: int
    per_page: int


@router.get(
    "/outbox",
    response_model=OutboxPage,
    responses=error_responses(401, 403, 422),
    summary="Webhook events by state (dead: ran out of attempts)",
)
async def outbox(
    request: Request,
    _principal: Principal = Depends(admin),
    state: Literal[STATES] = Query("dead"),  # type: ignore[valid-type]
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(50, ge=1, le=500),
) -> dict:
    def run():
        with session_scope(request.app.state.db_url) as session:
            return events.counts(session), events.list_events(session, state, page, per_page)

    counts, items = await review_call(run)
    return {"counts": counts, "state": state, "items": items, "page": page, "per_page": per_page}


@router.post(
    "/outbox/{event_id}/retry",
    responses=error_responses(401, 403, 404, 422, s404="no such dead-lettered event"),
    summary="Send a dead-lettered event again",
)
async def retry(
    request: Request,
    event_id: int = Path(ge=1, le=MAX_DB_ID),
    _principal: Principal = Depends(admin),
) -> dict:
    def run():
        with session_scope(request.app.state.db_url) as session:
            return events.retry(session, event_id)

    return await review_call(run)


class RetroJobsPage(BaseModel):
    items: list[dict[str, Any]] = Field(
        examples=[[{"id": 1, "state": "running", "scanned": 50000, "total": 120000, "hits": 2}]]
    )


@router.get(
    "/retro-jobs",
    response_model=RetroJobsPage,
    responses=error_responses(401, 403, 422),
    summary="Retroactive matching jobs, newest first, with their progress",
)
async def retro_jobs(
    request: Request,
    _principal: Principal = Depends(admin),
    state: Literal[JOB_STATES] | None = Query(None),  # type: ignore[valid-type]
    limit: int = Query(50, ge=1, le=500),
) -> dict:
    def run():
        with session_scope(request.app.state.db_url) as session:
            return retro.list_jobs(session, state, limit)

    return {"items": await review_call(run)}
