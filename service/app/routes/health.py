"""Liveness, readiness and Prometheus metrics.

Health needs no key (it reveals nothing). Metrics do, unless the operator
opens them: see `auth.metrics_access`.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

import provenance
from service.db import get_engine

from ..auth import metrics_access
from ..schemas import error_responses

router = APIRouter(tags=["health"])


class ReadyModel(BaseModel):
    status: str = Field(examples=["ready"], description="ready | degraded | not ready")
    checks: dict[str, str] = Field(
        examples=[{"database": "ok", "engine": "ok", "bank_index": "ok", "trust_lists": "ok"}]
    )


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict:
    # Deliberately does nothing else: it must stay fast while scans run.
    return {"status": "ok"}


def trust_lists_state(engine) -> str:
    """ok, or "degraded: ..." naming each trust list past its next update date.

    A stale list still verifies what it lists, so the service stays up; the
    operator is told a newer copy is due.
    """
    settings = getattr(engine, "credentials", None) or provenance.default_settings()
    try:
        stale = [t for t in settings.lists() if t.expired()]
    except provenance.TrustConfigError as exc:
        return f"unavailable: {exc}"
    if not stale:
        return "ok"
    names = ", ".join(f"{t.name} (next update {t.next_update})" for t in stale)
    return f"degraded: past its next update: {names}"


def _database_ok(url: str | None) -> str | None:
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@router.get(
    "/readyz",
    summary="The database answers and the engine and bank index are loaded",
    response_model=ReadyModel,
    responses={503: {"model": ReadyModel, "description": "not ready: see the failing check"}},
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    db_error = await anyio.to_thread.run_sync(_database_ok, state.db_url)
    checks["database"] = "ok" if db_error is None else f"unavailable: {db_error}"
    engine = getattr(state, "engine", None)
    checks["engine"] = "ok" if engine is not None else "not loaded"
    index = await anyio.to_thread.run_sync(state.bank_index_status)
    checks["bank_index"] = index
    checks["trust_lists"] = await anyio.to_thread.run_sync(trust_lists_state, engine)
    ready = all(v in ("ok", "not configured") or v.startswith("degraded") for v in checks.values())
    degraded = ready and any(v.startswith("degraded") for v in checks.values())
    status = "degraded" if degraded else "ready" if ready else "not ready"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (the scraper token or an admin key, unless opened)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        **error_responses(401, 403, s403="an API key that is not an admin's"),
    },
    dependencies=[Depends(metrics_access)],
)
async def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    await anyio.to_thread.run_sync(m.refresh)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
