"""HTTP batch jobs: `POST /v1/batch`, `GET /v1/batch/{id}`, `GET /v1/batch/{id}/report`.

A job scans either a server-side path below the operator's root
(`AIGC_BATCH_ROOT`; unset: server-side paths are refused) or an uploaded
.zip/.tar archive, which is kept under `AIGC_BATCH_DIR` so the job can be
resumed. Jobs run in the background, one at a time per service process by
default (`AIGC_BATCH_CONCURRENT_JOBS`), each on its own process pool.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from service.app.auth import Principal, require_role
from service.app.errors import ApiError
from service.reports import MEDIA_TYPES

from .archives import archive_kind
from .errors import BatchError, InputError, JobNotFound
from .pool import DEFAULT_TIMEOUT
from .reporting import write_job_report
from .runner import BatchOptions, create_job, run_job
from .store import JobStore

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/batch", tags=["batch"])
analyst = require_role("analyst")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _root() -> Path | None:
    raw = os.environ.get("AIGC_BATCH_ROOT")
    return Path(raw).resolve() if raw else None


def _upload_dir() -> Path:
    base = Path(os.environ.get("AIGC_BATCH_DIR") or Path.cwd() / "data" / "batch")
    folder = base / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _options(root: Path | None) -> BatchOptions:
    return BatchOptions(
        workers=_env_int("AIGC_BATCH_WORKERS", None),
        timeout=float(os.environ.get("AIGC_BATCH_FILE_TIMEOUT") or DEFAULT_TIMEOUT),
        confine_to=str(root) if root else None,
    )


def _submit(job_id: str, options: BatchOptions, db_url: str | None) -> None:
    global _executor
    with _lock:
        if _executor is None:
            workers = _env_int("AIGC_BATCH_CONCURRENT_JOBS", 1) or 1
            _executor = ThreadPoolExecutor(workers, thread_name_prefix="aigc-batch")
        _executor.submit(_run, job_id, options, db_url)


def _run(job_id: str, options: BatchOptions, db_url: str | None) -> None:
    try:
        run_job(job_id, options, store=JobStore(db_url))
    except BatchError as exc:  # recorded on the job row by run_job
        log.info("batch job %s failed: %s", job_id, exc)
    except Exception:
        log.exception("batch job %s failed", job_id)


def _store(request: Request) -> JobStore:
    return JobStore(request.app.state.db_url)


def _view(store: JobStore, job_id: str) -> dict:
    try:
        view = store.view(job_id)
    except JobNotFound as exc:
        raise ApiError(404, "job_not_found", str(exc)) from exc
    body = view.to_dict()
    body["links"] = {
        "self": f"/v1/batch/{job_id}",
        "report": {f: f"/v1/batch/{job_id}/report?format={f}" for f in ("html", "csv", "jsonl")},
    }
    return body


@router.post("", status_code=202)
def start_batch(
    request: Request,
    path: str | None = Form(None, description="A folder, archive or list below AIGC_BATCH_ROOT"),
    file: UploadFile | None = File(None, description="A .zip or .tar archive of media"),
    principal: Principal = Depends(analyst),
) -> JSONResponse:
    """Start a batch job in the background; poll `GET /v1/batch/{id}` for progress."""
    if (path is None) == (file is None):
        raise ApiError(422, "bad_request", "give either a server-side `path` or an archive `file`")
    store = _store(request)
    root = _root()
    if path is not None:
        if root is None:
            raise ApiError(
                403,
                "paths_disabled",
                "server-side paths are off (the operator sets AIGC_BATCH_ROOT)",
            )
        target = Path(path)
        target = target if target.is_absolute() else root / target
        if not target.resolve().is_relative_to(root):
            raise ApiError(403, "outside_root", f"{path} is outside the folder this service reads")
        if not target.exists():
            raise ApiError(404, "not_found", f"{path}: no such file or folder below the root")
        source, confine = target, root
    else:
        dest = _upload_dir() / f"{os.urandom(8).hex()}.upload"
        with open(dest, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        if archive_kind(dest) is None:
            dest.unlink(missing_ok=True)
            raise ApiError(415, "not_an_archive", "the upload must be a .zip or .tar archive")
        source, confine = dest, None
    options = _options(confine)
    try:
        job_id = create_job(source, options, store=store, owner=principal.key_id or "anonymous")
    except InputError as exc:
        raise ApiError(422, exc.code, str(exc)) from exc
    _submit(job_id, options, request.app.state.db_url)
    return JSONResponse(_view(store, job_id), status_code=202)


@router.get("/{job_id}")
def batch_progress(
    job_id: str, request: Request, principal: Principal = Depends(analyst)
) -> JSONResponse:
    """The job's status and counts: total, done, failed, per action and label."""
    return JSONResponse(_view(_store(request), job_id))


@router.get("/{job_id}/report")
def batch_report(
    job_id: str,
    request: Request,
    format: str = Query("html", pattern="^(html|csv|jsonl)$"),
    principal: Principal = Depends(analyst),
) -> FileResponse:
    """The report of what is done so far (the whole job once its status is done)."""
    store = _store(request)
    summary = _view(store, job_id)
    # written to a temporary file, not memory: a job of millions makes a big CSV
    folder = Path(tempfile.mkdtemp(prefix="aigc-report-"))
    out = folder / f"batch-{job_id}.{format}"
    write_job_report(store, job_id, out)
    return FileResponse(
        out,
        media_type=MEDIA_TYPES[format],
        filename=out.name,
        headers={"X-Batch-Status": summary["status"]},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
