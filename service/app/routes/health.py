"""Liveness, readiness and Prometheus metrics (no key needed: they reveal no content)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.db import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict:
    # Deliberately does nothing else: it must stay fast while scans run.
    return {"status": "ok"}


def _database_ok(url: str | None) -> str | None:
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@router.get("/readyz", summary="The database answers and the engine and bank index are loaded")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    db_error = await anyio.to_thread.run_sync(_database_ok, state.db_url)
    checks["database"] = "ok" if db_error is None else f"unavailable: {db_error}"
    engine = getattr(state, "engine", None)
    checks["engine"] = "ok" if engine is not None else "not loaded"
    index = await anyio.to_thread.run_sync(state.bank_index_status)
    checks["bank_index"] = index
    ready = all(v in ("ok", "not configured") for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    await anyio.to_thread.run_sync(m.refresh)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
