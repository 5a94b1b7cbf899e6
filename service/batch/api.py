"""HTTP batch jobs: `POST /v1/batch`, `GET /v1/batch/{id}`, `GET /v1/batch/{id}/report`.

A job scans either a server-side path below the operator's root
(`AIGC_BATCH_ROOT`; unset: server-side paths are refused) or an uploaded
.zip/.tar archive, which is kept under `AIGC_BATCH_DIR` while the job runs
(`uploads.py` says when it goes). Jobs run in the background, one at a time
per service process by default (`AIGC_BATCH_CONCURRENT_JOBS`), each on its
own process pool.

A job is visible to the key that started it and to admins; anyone else gets
the same 404 as for a job that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from service.app.auth import Principal, require_role
from service.app.errors import ApiError
from service.app.forms import check_single_parts
from service.app.schemas import ID_PATTERN, MAX_PATH_CHARS, NO_NUL, error_responses
from service.reports import MEDIA_TYPES
from service.settings import Settings

from . import uploads
from .archives import archive_kind
from .errors import BatchError, InputError, JobNotFound
from .reporting import write_job_report
from .runner import BatchOptions, create_job, run_job
from .store import JobStore

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
# uploads of the jobs this process has queued or is running: never swept
_active_uploads: set[str] = set()
_last_sweep = 0.0
_SWEEP_EVERY_S = 60.0


def _sweep(settings: Settings, *, force: bool = False) -> None:
    global _last_sweep
    with _lock:
        if not force and time.monotonic() - _last_sweep < _SWEEP_EVERY_S:
            return
        _last_sweep = time.monotonic()
        active = set(_active_uploads)
    try:
        uploads.sweep(settings, active=active)
    except OSError as exc:  # housekeeping must never fail a request
        log.warning("batch upload sweep failed: %s", exc)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # leftovers of a server that died mid-job go at start, not only at the next upload
    settings = app.state.settings
    await anyio.to_thread.run_sync(lambda: _sweep(settings, force=True))
    yield


router = APIRouter(prefix="/v1/batch", tags=["batch"], lifespan=_lifespan)
analyst = require_role("analyst")

# the multipart body: a server-side path or an archive, exactly one of them
_START_BODY_ONE_OF = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"oneOf": [{"required": ["path"]}, {"required": ["file"]}]}
            }
        }
    }
}
_MEANINGS = {
    "s403": "the key's role may not call this, server-side paths are off, or the path is "
    "outside the operator's root",
    "s404": "no such job (or not one of this key's), or no such path below the root",
    "s413": "the archive is larger than the byte limit",
    "s415": "the upload is not a .zip or .tar archive",
    "s422": "neither or both of path and file, a malformed field, or an unusable input",
}


def _root(settings: Settings) -> Path | None:
    return Path(settings.batch_root).resolve() if settings.batch_root else None


def _options(settings: Settings, root: Path | None) -> BatchOptions:
    return BatchOptions(
        workers=settings.batch_workers,
        timeout=settings.batch_file_timeout,
        confine_to=str(root) if root else None,
        extract_dir=settings.batch_extract_dir,
    )


def _submit(
    job_id: str, options: BatchOptions, settings: Settings, upload: Path | None, metrics=None
) -> None:
    global _executor
    with _lock:
        if _executor is None:
            # one pool per process: the first app's setting holds while it lives
            _executor = ThreadPoolExecutor(
                settings.batch_concurrent_jobs, thread_name_prefix="aigc-batch"
            )
        if upload is not None:
            _active_uploads.add(str(upload))
        _executor.submit(_run, job_id, options, settings.database_url, upload, metrics)


def _progress(upload: Path | None, metrics):
    """The job's progress hook: the upload's heartbeat, and each file counted in /metrics."""
    heartbeat = uploads.Heartbeat(upload) if upload is not None else None

    def progress(event: str, payload: dict) -> None:
        if heartbeat is not None:
            heartbeat(event, payload)
        if event == "file" and metrics is not None:
            metrics.batch_file(payload["row"])

    return progress


def _run(
    job_id: str, options: BatchOptions, db_url: str | None, upload: Path | None, metrics=None
) -> None:
    store = JobStore(db_url)
    try:
        run_job(job_id, options, store=store, progress=_progress(upload, metrics))
    except BatchError as exc:  # recorded on the job row by run_job
        log.info("batch job %s failed: %s", job_id, exc)
    except Exception:
        log.exception("batch job %s failed", job_id)
    finally:
        if upload is not None:
            _release_upload(store, job_id, upload)


def _release_upload(store: JobStore, job_id: str, upload: Path) -> None:
    try:
        status = store.job(job_id).status
    except Exception:  # the row cannot be read: the sweep decides later
        status = "unknown"
    # an interrupted job can be resumed (`aigc batch --resume`), which reads the upload
    if status != "interrupted":
        uploads.discard(upload)
    with _lock:
        _active_uploads.discard(str(upload))


def _store(request: Request) -> JobStore:
    return JobStore(request.app.state.db_url)


def _view(store: JobStore, job_id: str, principal: Principal) -> dict:
    try:
        view = store.view(job_id)
    except JobNotFound as exc:
        raise ApiError(404, "job_not_found", str(exc)) from exc
    if principal.role != "admin" and view.owner != (principal.key_id or "anonymous"):
        # the very answer a missing job gets: another analyst learns nothing
        raise ApiError(404, "job_not_found", f"no batch job {job_id!r}")
    body = view.to_dict()
    body["links"] = {
        "self": f"/v1/batch/{job_id}",
        "report": {f: f"/v1/batch/{job_id}/report?format={f}" for f in ("html", "csv", "jsonl")},
    }
    return body


def _server_path(path: str, root: Path | None) -> Path:
    if root is None:
        raise ApiError(
            403,
            "paths_disabled",
            "server-side paths are off (the operator sets AIGC_BATCH_ROOT)",
        )
    try:
        target = Path(path)
        target = target if target.is_absolute() else root / target
        inside = target.resolve().is_relative_to(root)
        exists = inside and target.exists()
    except (OSError, ValueError) as exc:  # a name too long for the file system, say
        raise ApiError(422, "invalid_path", f"the path cannot be used: {exc}") from exc
    if not inside:
        raise ApiError(403, "outside_root", f"{path} is outside the folder this service reads")
    if not exists:
        raise ApiError(404, "not_found", f"{path}: no such file or folder below the root")
    return target


# A plain def, so FastAPI runs it in a thread: the upload is copied to disk here.
@router.post(
    "",
    status_code=202,
    responses=error_responses(401, 403, 404, 413, 415, 422, **_MEANINGS),
    openapi_extra=_START_BODY_ONE_OF,
    summary="Start a batch job on a server-side path or an uploaded archive",
)
def start_batch(
    request: Request,
    path: str | None = Form(
        None,
        min_length=1,
        max_length=MAX_PATH_CHARS,
        pattern=NO_NUL,
        description="A folder, archive or list below AIGC_BATCH_ROOT",
    ),
    file: UploadFile | None = File(None, description="A .zip or .tar archive of media"),
    principal: Principal = Depends(analyst),
) -> JSONResponse:
    """Start a batch job in the background; poll `GET /v1/batch/{id}` for progress."""
    anyio.from_thread.run(check_single_parts, request, ("path", "file"))
    if (path is None) == (file is None):
        raise ApiError(422, "bad_request", "give either a server-side `path` or an archive `file`")
    store = _store(request)
    settings = request.app.state.settings
    upload = None
    if path is not None:
        confine = _root(settings)
        source = _server_path(path, confine)
    else:
        _sweep(settings)
        upload = uploads.save(file.file, settings)
        if archive_kind(upload) is None:
            uploads.discard(upload)
            raise ApiError(415, "not_an_archive", "the upload must be a .zip or .tar archive")
        source, confine = upload, None
    options = _options(settings, confine)
    try:
        job_id = create_job(source, options, store=store, owner=principal.key_id or "anonymous")
    except InputError as exc:
        if upload is not None:
            uploads.discard(upload)
        raise ApiError(422, exc.code, str(exc)) from exc
    _submit(job_id, options, settings, upload, getattr(request.app.state, "metrics", None))
    return JSONResponse(_view(store, job_id, principal), status_code=202)


_JOB_ID = PathParam(pattern=ID_PATTERN, examples=["4f6c2b7a9d1e4c3b8a7f6e5d4c3b2a19"])


@router.get(
    "/{job_id}",
    responses=error_responses(401, 403, 404, 422, **_MEANINGS),
    summary="A batch job's status and counts",
)
def batch_progress(
    request: Request, job_id: str = _JOB_ID, principal: Principal = Depends(analyst)
) -> JSONResponse:
    """The job's status and counts: total, done, failed, per action and label."""
    return JSONResponse(_view(_store(request), job_id, principal))


@router.get(
    "/{job_id}/report",
    response_class=FileResponse,
    responses={
        200: {
            "content": {MEDIA_TYPES[f]: {} for f in ("html", "csv", "jsonl")},
            "description": "the report in the asked format",
        },
        **error_responses(401, 403, 404, 422, **_MEANINGS),
    },
    summary="A batch job's report (html, csv or jsonl)",
)
def batch_report(
    request: Request,
    job_id: str = _JOB_ID,
    format: Literal["html", "csv", "jsonl"] = Query("html"),
    principal: Principal = Depends(analyst),
) -> FileResponse:
    """The report of what is done so far (the whole job once its status is done)."""
    store = _store(request)
    summary = _view(store, job_id, principal)
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
