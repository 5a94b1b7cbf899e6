"""The upload pipeline hook and the creator-facing label check."""

from __future__ import annotations

import math
from dataclasses import replace

import anyio
from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import select

from labeler import LabelerError
from labeler.explain import explain
from labeler.policy import terms
from service.db import session_scope
from service.db.audit import add_scan, get_scan, new_scan_id
from service.db.cases import CaseRow
from service.review import flood
from service.review.cases import CaseInput, open_case, record_removal, thumbnail
from service.review.state import current_state

from ..analysis import Analysis
from ..auth import Principal, require_role
from ..errors import ApiError, labeler_error
from ..forms import Upload, upload_form
from ..metrics import endpoint_label
from ..proxies import client_address
from ..ratelimit import creator_bucket
from ..schemas import (
    ID_PATTERN,
    LabelCheckResponse,
    ScanRecordResponse,
    ScanResponse,
    error_responses,
)

router = APIRouter(prefix="/v1", tags=["scans"])

_UPLOAD_MEANINGS = {
    "s413": "the upload is larger than the byte limit",
    "s415": "not a supported image or video (sniffed)",
    "s422": "too many pixels, undecodable, analysis timed out, or bad fields",
    "s503": "too many analyses waiting; retry after Retry-After",
}
_ERRORS = error_responses(401, 403, 413, 415, 422, 503, **_UPLOAD_MEANINGS)


def _caller(request: Request, principal: Principal) -> str:
    """Who is asking: the API key, or on the open creator page the client's address
    (through trusted proxies). Rate limits and fair shares of the slots count by it."""
    if principal.via_token:
        # one platform key mints every creator's token: count each creator apart
        return creator_bucket(str(principal.creator_id))
    if principal.key_id:
        return f"key:{principal.key_id}"
    return f"addr:{client_address(request)}"


async def _analyze(request: Request, upload: Upload, principal: Principal, then):
    """`then(analysis)` of the upload's analysis, run in the thread that made the decision:
    the blocking work after it (the audit row) costs no second hop off the event loop."""
    state = request.app.state
    runner = state.runner
    state.metrics.scans_in_flight.inc()
    try:
        pending = await runner.observe(upload.data, upload.filename, _caller(request, principal))

        def finish():
            return then(runner.finish(pending, upload.context))

        return await anyio.to_thread.run_sync(finish)
    except LabelerError as exc:
        raise labeler_error(exc) from exc
    finally:
        state.metrics.scans_in_flight.dec()


def _case_input(request: Request, upload: Upload, result: Analysis, scan_id: str, decision):
    """What a case needs of an escalated upload; its bytes only up to the configured size."""
    context = upload.context
    topics, _found = terms.detect(
        request.app.state.engine.policy.topics,
        context.caption,
        context.hashtags,
        context.sensitive_topics,
    )
    mime = result.media.get("mime")
    keep = len(upload.data) <= request.app.state.settings.case_media_max_bytes
    return CaseInput(
        decision=decision,
        context=context.to_dict(),
        scan_id=scan_id,
        sha256=result.media.get("sha256"),
        perceptual_hash=result.perceptual_hash,
        mime=mime,
        topics=topics,
        media=upload.data if keep else None,
        filename=upload.filename,
        thumbnail=thumbnail(upload.data, mime),
    )


def _record(
    db_url: str | None,
    endpoint: str,
    upload: Upload,
    result: Analysis,
    key_id,
    case: CaseInput | None = None,
    decision: dict | None = None,
) -> tuple[str, str | None]:
    """The audit row, and for an escalation its case, in one transaction: (scan id, case id).

    `decision` is `result.decision.to_dict()` when the caller already has it."""
    scan_id = case.scan_id if case is not None else new_scan_id()
    decision = decision if decision is not None else result.decision.to_dict()
    case_id = None
    # one transaction: either the whole row (and its case and events) is there or nothing is
    with session_scope(db_url) as session:
        add_scan(
            session,
            id=scan_id,
            endpoint=endpoint,
            sha256=result.media.get("sha256", ""),
            perceptual_hash=result.perceptual_hash,
            mime=result.media.get("mime"),
            action=result.decision.action,
            label=result.decision.label,
            policy_version=result.decision.policy_version,
            signals=decision.get("signals") or {},
            decision=decision,
            context=upload.context.to_dict(),
            api_key_id=key_id,
            elapsed_ms=result.elapsed_ms,
        )
        if case is not None:
            case_id = open_case(session, case, key_id).id
        elif endpoint == "scan" and result.decision.action == "remove":
            record_removal(session, scan_id, decision, upload.context.to_dict())
    return scan_id, case_id


def _matched_entry(result: Analysis):
    match = result.decision.signals.get("match") or {}
    return match.get("entry_id") if match.get("matched") else None


def _flood_guard(request: Request, result: Analysis) -> Analysis:
    """Count the upload's bank match; a quarantined entry's removal becomes an escalation."""
    entry_id = _matched_entry(result)
    if entry_id is None:
        return result
    config = flood.FloodConfig.from_settings(request.app.state.settings)
    if not flood.record_match(request.app.state.db_url, str(entry_id), config):
        return result
    return replace(result, decision=flood.hold(result.decision, str(entry_id)))


@router.post(
    "/scan",
    response_model=ScanResponse,
    responses=_ERRORS,
    summary="Decide on an upload (pipeline hook)",
)
async def scan(
    request: Request,
    principal: Principal = Depends(require_role("pipeline")),
    upload: Upload = Depends(upload_form),
) -> dict:
    """Runs every signal and the policy on the upload, stores the decision in the
    audit trail and returns it in full, with the scan id and the time it took."""
    result, decision, scan_id, case_id = await _analyze(
        request, upload, principal, lambda result: _decide(request, upload, result, principal)
    )
    request.app.state.metrics.record(endpoint_label(request.scope), result.decision, result.timings)
    return {
        "scan_id": scan_id,
        "elapsed_ms": round(result.elapsed_ms, 2),
        "decision": decision,
        "case_id": case_id,
    }


def _decide(request: Request, upload: Upload, result: Analysis, principal: Principal):
    """After the engine's decision (in its thread): the flood guard, the case of an
    escalation and the audit row -> (analysis, the answer's decision, scan id, case id)."""
    result = _flood_guard(request, result)
    stored = result.decision.to_dict()
    decision, case = stored, None
    if result.decision.action == "escalate":
        # while a person has not decided, the upload is kept out of recommendations
        decision = {**stored, "distribution": "reduced"}
        case = _case_input(request, upload, result, new_scan_id(), decision)
    scan_id, case_id = _record(
        request.app.state.db_url, "scan", upload, result, principal.key_id, case, stored
    )
    return result, decision, scan_id, case_id


def _load_scan(db_url: str | None, scan_id: str) -> dict | None:
    """The stored decision as made, and its current state after any review."""
    with session_scope(db_url) as session:
        row = get_scan(session, scan_id)
        if row is None:
            return None
        case = session.scalars(
            select(CaseRow).where(CaseRow.scan_id == scan_id).order_by(CaseRow.created_at)
        ).first()
        out = row.to_dict()
        status, verdict = (case.status, case.verdict) if case is not None else (None, None)
        out["case"] = (
            None
            if case is None
            else {"id": case.id, "status": case.status, "verdict": case.verdict}
        )
        out["current"] = current_state(row.decision, status, verdict)
        return out


@router.get(
    "/scans/{scan_id}",
    response_model=ScanRecordResponse,
    responses=error_responses(401, 403, 404, 422, s404="no such scan"),
    summary="Fetch a stored decision from the audit trail",
)
async def get_scan_record(
    request: Request,
    scan_id: str = Path(pattern=ID_PATTERN, examples=["4f6c2b7a9d1e4c3b8a7f6e5d4c3b2a19"]),
    _principal: Principal = Depends(require_role("analyst")),
) -> dict:
    row = await anyio.to_thread.run_sync(_load_scan, request.app.state.db_url, scan_id)
    if row is None:
        raise ApiError(404, "not_found", f"no scan with id {scan_id!r}")
    return row


def _rate_buckets(request: Request, principal: Principal, upload: Upload) -> list[str]:
    buckets = [_caller(request, principal)]
    if upload.context.creator_id and not principal.via_token:
        buckets.append(creator_bucket(upload.context.creator_id))
    return buckets


@router.post(
    "/label-check",
    response_model=LabelCheckResponse,
    responses=error_responses(
        401, 403, 413, 415, 422, 429, 503, s429="too many checks; retry later", **_UPLOAD_MEANINGS
    ),
    summary="Will my upload be labeled, and why? (creators)",
)
async def label_check(
    request: Request,
    principal: Principal = Depends(require_role("creator", open_flag="creator_page_open")),
    upload: Upload = Depends(upload_form),
) -> dict:
    """Answers in plain words whether a label will be applied and why, and whether
    disclosure is required. It never reveals bank entries, hash distances,
    watermark scores or thresholds: only fixed sentences per reason."""
    state = request.app.state
    if principal.via_token:
        # the token says who the creator is (their history counts), not a form field
        upload = replace(upload, context=replace(upload.context, creator_id=principal.creator_id))
    # a thread: the shared limiter is a round trip to Redis
    buckets = _rate_buckets(request, principal, upload)
    wait = await anyio.to_thread.run_sync(state.label_check_limiter.hit, buckets)
    if wait is not None:
        retry = max(1, math.ceil(wait))  # never early: a retry at Retry-After succeeds
        raise ApiError(
            429,
            "rate_limited",
            f"too many label checks; try again in {retry} s",
            {"Retry-After": str(retry)},
        )
    result, (check_id, _case) = await _analyze(
        request,
        upload,
        principal,
        lambda result: (
            result,
            _record(state.db_url, "label-check", upload, result, principal.key_id),
        ),
    )
    state.metrics.record(endpoint_label(request.scope), result.decision, result.timings)
    # a label's source in the words of the engine's own signals
    answer = explain(
        result.decision, state.engine.signals, disclosed=upload.context.creator_disclosed_ai
    ).to_dict()
    return {"check_id": check_id, **answer}
