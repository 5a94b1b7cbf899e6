"""The review queue: cases, claims, verdicts and appeals (reviewers, fact-checkers, creators)."""

from __future__ import annotations

from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from service.db import session_scope
from service.db.cases import STATUSES, VERDICTS
from service.review import evidence, queue, verdicts
from service.review.errors import ReviewError

from ..auth import Principal, require_role
from ..errors import ApiError
from ..schemas import ID_PATTERN, MAX_PAGE, NO_NUL, error_responses

router = APIRouter(prefix="/v1/cases", tags=["cases"])
reviewers = require_role("reviewer", "fact_checker")
creators = require_role("creator")
CaseId = Path(pattern=ID_PATTERN, examples=["4f6c2b7a9d1e4c3b8a7f6e5d4c3b2a19"])
_NOT_ROUTED = {"s404": "no such case, or not routed to this fact-checker"}


class CaseSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    kind: str = Field(examples=["upload"], description="upload | retroactive | quarantine")
    status: str = Field(examples=["open"], description=" | ".join(STATUSES))
    priority: int = Field(examples=[75], description="0..100, higher first")
    topics: list[str] = Field(examples=[["elections"]])
    reasons: list[Any]
    verdict: str | None = None


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int = Field(description="matching cases, counted up to total_limit")
    total_capped: bool = Field(description="more than total_limit match: total is the limit")
    total_limit: int = Field(examples=[10000])
    page: int
    per_page: int


class CaseModel(CaseSummary):
    signals: dict[str, Any]
    context: dict[str, Any]


class VerdictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal[VERDICTS] = Field(  # type: ignore[valid-type]
        examples=["confirmed_misleading"], description=" | ".join(VERDICTS)
    )
    note: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)
    fact_check_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://[^\s\x00]+$"
    )
    allow_list: bool = Field(
        default=True,
        description="cleared: remember the media so it does not escalate again for these reasons",
    )


class AppealBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


def viewer_of(principal: Principal) -> queue.Viewer:
    return queue.Viewer(
        key_id=principal.key_id,
        role=principal.role,
        topics=principal.topics,
        languages=principal.languages,
        creator_id=principal.creator_id,
        organisation=principal.organisation,
    )


async def review_call(fn, *args):
    """`fn(*args)` on a worker thread, a review store's typed error answered as its 4xx."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except ReviewError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from exc


@router.get(
    "",
    response_model=CasePage,
    responses=error_responses(401, 403, 422),
    summary="The queue: cases waiting for a person, highest priority first",
)
async def list_cases(
    request: Request,
    principal: Principal = Depends(reviewers),
    status: Literal[STATUSES] | None = Query(  # type: ignore[valid-type]
        None, description="default: open, in_review and appealed"
    ),
    topic: str | None = Query(None, pattern=r"^[a-z0-9_]{1,64}$", examples=["elections"]),
    priority: int | None = Query(None, ge=0, le=100, description="at least this priority"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(50, ge=1, le=500),
) -> dict:
    viewer = viewer_of(principal)

    def run():
        with session_scope(request.app.state.db_url) as session:
            return queue.list_cases(
                session,
                viewer,
                status=status,
                topic=topic,
                min_priority=priority,
                page=page,
                per_page=per_page,
            )

    items, total = await review_call(run)
    capped = total > queue.COUNT_LIMIT
    return {
        "items": items,
        "total": min(total, queue.COUNT_LIMIT),
        "total_capped": capped,
        "total_limit": queue.COUNT_LIMIT,
        "page": page,
        "per_page": per_page,
    }


@router.get(
    "/{case_id}",
    response_model=CaseModel,
    responses=error_responses(401, 403, 404, 422, **_NOT_ROUTED),
    summary="One case with its reasons, signals and upload context",
)
async def get_case(
    request: Request, case_id: str = CaseId, principal: Principal = Depends(reviewers)
) -> dict:
    viewer = viewer_of(principal)

    def run():
        with session_scope(request.app.state.db_url) as session:
            row = queue.load_case(session, case_id, viewer)
            view = queue.case_view(row, viewer)
            view["matched_entry"] = evidence.matched_entry(session, row, viewer)
            return view

    return await review_call(run)


@router.get(
    "/{case_id}/thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}},
        **error_responses(401, 403, 404, 422, s404="no such case, or no thumbnail"),
    },
    summary="The case's thumbnail (JPEG, at most 256 px a side)",
)
async def get_thumbnail(
    request: Request, case_id: str = CaseId, principal: Principal = Depends(reviewers)
) -> Response:
    viewer = viewer_of(principal)

    def run():
        with session_scope(request.app.state.db_url) as session:
            return queue.case_thumbnail(session, case_id, viewer)

    data = await review_call(run)
    if data is None:
        raise ApiError(404, "not_found", f"case {case_id} has no thumbnail")
    return Response(data, media_type="image/jpeg")


_CHANGE = error_responses(
    401, 403, 404, 409, 422, s409="decided, claimed by another, or changed meanwhile", **_NOT_ROUTED
)


@router.post("/{case_id}/claim", response_model=CaseModel, responses=_CHANGE, summary="Take a case")
async def claim(
    request: Request, case_id: str = CaseId, principal: Principal = Depends(reviewers)
) -> dict:
    return await review_call(
        verdicts.claim, request.app.state.db_url, case_id, viewer_of(principal)
    )


@router.post(
    "/{case_id}/verdict",
    response_model=CaseModel,
    responses=_CHANGE,
    summary="Decide a case (confirmed_misleading, unverified, ai_label_only, cleared)",
)
async def verdict(
    body: VerdictBody,
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(reviewers),
) -> dict:
    """`confirmed_misleading` banks the media (category misleading_deepfake, severity
    high, source the reviewer's organisation) so re-uploads are removed at once;
    `cleared` may add it to the negative bank. Exactly one of two concurrent
    verdicts wins; the other gets 409."""
    item = verdicts.Verdict(body.verdict, body.note, body.fact_check_url, body.allow_list)
    return await review_call(
        verdicts.decide, request.app.state.db_url, case_id, viewer_of(principal), item
    )


@router.post(
    "/{case_id}/appeal",
    response_model=CaseModel,
    responses=error_responses(
        401, 403, 404, 409, 422, s404="no such case among the creator's uploads"
    ),
    summary="Appeal a decided case about one's own upload (creators)",
)
async def appeal(
    request: Request,
    body: AppealBody | None = None,
    case_id: str = CaseId,
    principal: Principal = Depends(creators),
) -> dict:
    reason = body.reason if body is not None else None
    view = await review_call(
        verdicts.appeal, request.app.state.db_url, case_id, viewer_of(principal), reason
    )
    # the creator learns the case's state, not the reviewers' evidence
    keep = ("id", "kind", "status", "priority", "topics", "verdict", "appeals", "reasons")
    return {
        **{k: view[k] for k in keep},
        "reasons": [],
        "signals": {},
        "context": view["context"],
    }
