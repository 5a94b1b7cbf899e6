"""Job rows and per-file result rows: created, resumed, committed one file at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.db.base import database_url, session_scope, utc_now
from service.db.jobs import BatchJob, BatchResult
from service.db.migrations import ensure_schema
from service.review.cases import batch_case, open_case

from .errors import JobNotFound

_RESULT_COLUMNS = (
    "status",
    "action",
    "label",
    "label_source",
    "policy_version",
    "reasons",
    "signals",
    "media",
    "sha256",
    "error_code",
    "error_message",
    "thumbnail",
    "seconds",
    "creator_id",
    "pdq",
)


@dataclass(frozen=True)
class JobView:
    """A job and its progress, as the CLI and the API show it."""

    id: str
    status: str
    input: str
    input_kind: str | None
    engine: str
    total: int | None
    done: int
    failed: int
    actions: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    owner: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def iso(t):
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "status": self.status,
            "input": self.input,
            "input_kind": self.input_kind,
            "engine": self.engine,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "actions": self.actions,
            "labels": self.labels,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "error": self.error,
        }


_SCHEMA_READY: set[str] = set()


class JobStore:
    """All database work of a batch job; the one writer is the job's parent process."""

    def __init__(self, url: str | None = None):
        # resolved here: get_engine caches by its argument, and None would pin
        # whichever database was current on first use
        self.url = url or database_url()
        if self.url not in _SCHEMA_READY:
            ensure_schema(self.url)
            _SCHEMA_READY.add(self.url)

    def create(
        self,
        input: str,
        *,
        engine: str = "local",
        scheduler: str | None = None,
        workers: int | None = None,
        owner: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        job_id = uuid.uuid4().hex
        with session_scope(self.url) as s:
            s.add(
                BatchJob(
                    id=job_id,
                    status="pending",
                    input=input,
                    engine=engine,
                    scheduler=scheduler,
                    workers=workers,
                    owner=owner,
                    options=dict(options or {}),
                )
            )
        return job_id

    def job(self, job_id: str) -> BatchJob:
        with session_scope(self.url) as s:
            job = s.get(BatchJob, job_id)
            if job is None:
                raise JobNotFound(f"no batch job {job_id!r}")
            s.expunge(job)
            return job

    def update(self, job_id: str, **values: Any) -> None:
        with session_scope(self.url) as s:
            job = s.get(BatchJob, job_id)
            if job is None:
                raise JobNotFound(f"no batch job {job_id!r}")
            for name, value in values.items():
                setattr(job, name, value)

    def mark(self, job_id: str, status: str, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "error": error}
        if status == "running":
            values["started_at"] = utc_now()
            values["finished_at"] = None
        elif status in ("done", "failed", "interrupted"):
            values["finished_at"] = utc_now()
        self.update(job_id, **values)

    def done_paths(self, job_id: str) -> set[str]:
        with session_scope(self.url) as s:
            return set(s.scalars(select(BatchResult.path).where(BatchResult.job_id == job_id)))

    def record(self, job_id: str, row: dict[str, Any]) -> bool:
        """Commit one file's result (and the case an escalation opens); False when
        (job, path) was recorded already."""
        values = {k: row.get(k) for k in _RESULT_COLUMNS}
        try:
            with session_scope(self.url) as s:
                s.add(BatchResult(job_id=job_id, path=row["path"], **values))
                if row.get("action") == "escalate":
                    open_case(s, batch_case(job_id, row), None)
        except IntegrityError:
            return False
        return True

    def view(self, job_id: str) -> JobView:
        job = self.job(job_id)
        with session_scope(self.url) as s:
            by_status = dict(
                s.execute(
                    select(BatchResult.status, func.count())
                    .where(BatchResult.job_id == job_id)
                    .group_by(BatchResult.status)
                ).all()
            )
            actions = dict(
                s.execute(
                    select(BatchResult.action, func.count())
                    .where(BatchResult.job_id == job_id, BatchResult.status == "ok")
                    .group_by(BatchResult.action)
                ).all()
            )
            labels = dict(
                s.execute(
                    select(BatchResult.label, func.count())
                    .where(BatchResult.job_id == job_id, BatchResult.label.is_not(None))
                    .group_by(BatchResult.label)
                ).all()
            )
        return JobView(
            id=job.id,
            status=job.status,
            input=job.input,
            input_kind=job.input_kind,
            engine=job.engine,
            total=job.total,
            done=sum(by_status.values()),
            failed=by_status.get("error", 0) + by_status.get("skipped", 0),
            actions=actions,
            labels=labels,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            owner=job.owner,
            options=dict(job.options or {}),
        )

    def results(self, job_id: str, *, thumbnails: bool = False) -> Iterator[dict[str, Any]]:
        """Every result row of a job in path order, streamed in pages."""
        columns = [
            BatchResult.path,
            *(getattr(BatchResult, c) for c in _RESULT_COLUMNS),
            BatchResult.finished_at,
        ]
        if not thumbnails:
            columns = [c for c in columns if c.key != "thumbnail"]
        last = ""
        while True:
            with session_scope(self.url) as s:
                page = s.execute(
                    select(*columns)
                    .where(BatchResult.job_id == job_id, BatchResult.path > last)
                    .order_by(BatchResult.path)
                    .limit(1000)
                ).all()
            if not page:
                return
            for r in page:
                yield dict(r._mapping)
            last = page[-1].path
