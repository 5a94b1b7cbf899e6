"""A batch job from start to end: enumerate, skip what is done, dispatch, record.

The parent process is the only database writer: workers return rows, the
parent commits each as it arrives. Resuming enumerates the same input again
and dispatches only the keys that have no row yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.settings import BATCH_FILE_TIMEOUT_S

from .archives import ArchiveLimits
from .errors import InputError, JobConflict
from .inputs import BatchInput, open_input
from .pool import Failure, LocalPool
from .store import JobStore, JobView
from .uploads import Heartbeat
from .worker import error_row, process_file

ENGINES = ("local", "dask")


@dataclass(frozen=True)
class BatchOptions:
    workers: int | None = None  # None: every core
    engine: str = "local"
    scheduler: str | None = None  # tcp://host:port for the Dask engine
    timeout: float = BATCH_FILE_TIMEOUT_S  # seconds one file may take before its worker is killed
    thumbnails: bool = True
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    # the API's operator-configured root: every file read must resolve below it
    confine_to: str | None = None
    # where archives are extracted (None: the system temp folder); Dask workers on
    # other machines read extracted members by path, so this is a mount they share
    extract_dir: str | None = None

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine {self.engine!r}: choose one of {', '.join(ENGINES)}")
        if self.engine == "dask" and not self.scheduler:
            raise InputError("the dask engine needs --scheduler tcp://HOST:PORT")
        if self.workers is not None and self.workers < 1:
            raise InputError("--workers must be at least 1")
        if self.timeout <= 0:
            raise InputError("the per-file timeout must be positive")


# progress(event, payload): "start" {total, done}, "file" {row}, "end" {view}
Progress = Callable[[str, dict[str, Any]], None]


def _options_record(options: BatchOptions) -> dict[str, Any]:
    return {"timeout": options.timeout, "thumbnails": options.thumbnails}


def create_job(
    input: str | os.PathLike,
    options: BatchOptions,
    *,
    store: JobStore | None = None,
    owner: str | None = None,
) -> str:
    store = store or JobStore()
    source = Path(input).expanduser()
    if not source.exists():
        raise InputError(f"{input}: no such file or folder")
    return store.create(
        str(source.resolve()),
        engine=options.engine,
        scheduler=options.scheduler,
        workers=options.workers,
        owner=owner,
        options=_options_record(options),
    )


def run_job(
    job_id: str,
    options: BatchOptions,
    *,
    store: JobStore | None = None,
    progress: Progress | None = None,
    client: Any = None,
) -> JobView:
    """Process every file of the job that has no result yet; returns the final view."""
    store = store or JobStore()
    job = store.job(job_id)
    confine = Path(options.confine_to) if options.confine_to else None
    try:
        batch = open_input(
            job.input,
            confine_to=confine,
            archive_limits=options.archive_limits,
            extract_into=Path(options.extract_dir) if options.extract_dir else None,
        )
    except InputError as exc:
        store.mark(job_id, "failed", error=str(exc))
        raise
    try:
        done = store.done_paths(job_id)
        total = len(batch.items) + len(batch.skipped)
        store.update(job_id, total=total, input_kind=batch.kind)
        store.mark(job_id, "running")
        notify = progress or (lambda event, payload: None)
        notify("start", {"total": total, "done": len(done), "job": job_id})
        item_keys = {it.key for it in batch.items}
        for skip in batch.skipped:
            # a refused second copy of a member that was extracted must not take
            # the extracted file's row (one row per key)
            key = f"{skip.key} [{skip.code}]" if skip.key in item_keys else skip.key
            if key not in done:
                row = error_row(key, skip.code, skip.message, status="skipped")
                if store.record(job_id, row):
                    notify("file", {"row": row})
        todo = [it for it in batch.items if it.key not in done]
        # a long job keeps its extraction folder looking used, so no sweep takes it
        beat = Heartbeat(batch.extracted.root) if batch.extracted is not None else None
        for row in _dispatch(todo, options, client):
            if beat is not None:
                beat()
            if store.record(job_id, row):
                notify("file", {"row": row})
        store.mark(job_id, "done")
    except BaseException as exc:
        # KeyboardInterrupt included: what was committed stays, --resume finishes it
        status = "interrupted" if isinstance(exc, KeyboardInterrupt | SystemExit) else "failed"
        store.mark(job_id, status, error=None if status == "interrupted" else repr(exc))
        raise
    finally:
        batch.cleanup()
    view = store.view(job_id)
    notify("end", {"view": view})
    return view


def _dispatch(todo, options: BatchOptions, client: Any) -> Iterator[dict[str, Any]]:
    tasks = [(it.key, it.path, options.thumbnails) for it in todo]
    if not tasks:
        return
    if options.engine == "dask" or client is not None:
        from .dask_engine import run_on_dask

        results = run_on_dask(tasks, options.scheduler, options.timeout, client=client)
    else:
        workers = min(options.workers or os.cpu_count() or 1, len(tasks))
        results = LocalPool(process_file, workers, options.timeout).map(tasks)
    # the creator id stays in the parent: workers need only the bytes
    creators = {it.key: it.creator_id for it in todo if it.creator_id}
    for task, result in results:
        row = (
            error_row(task[0], result.code, result.message)
            if isinstance(result, Failure)
            else result
        )
        if task[0] in creators:
            row["creator_id"] = creators[task[0]]
        yield row


def resume_check(store: JobStore, job_id: str, input: str | os.PathLike | None) -> None:
    """A resumed job reads the input it was started with."""
    job = store.job(job_id)
    if input is not None and str(Path(input).expanduser().resolve()) != job.input:
        raise JobConflict(f"job {job_id} scans {job.input}, not {input}")


__all__ = ["BatchInput", "BatchOptions", "create_job", "resume_check", "run_job"]
