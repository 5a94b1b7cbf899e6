"""Batch scan jobs: one row per job and one result row per file.

A result row is committed as soon as its file finishes, and (job, path) is
unique, so a killed job resumes with exactly the files that are missing and
nothing is ever recorded twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utc_now

JOB_STATUSES = ("pending", "running", "done", "interrupted", "failed")
RESULT_STATUSES = ("ok", "error", "skipped")


class BatchJob(Base):
    __tablename__ = "batch_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    # what the analyst asked for: a folder, an archive or a list file (absolute path)
    input: Mapped[str] = mapped_column(Text, nullable=False)
    input_kind: Mapped[str | None] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(16), default="local", nullable=False)
    scheduler: Mapped[str | None] = mapped_column(Text)
    workers: Mapped[int | None] = mapped_column(Integer)
    # files found in the input (None until enumerated)
    total: Mapped[int | None] = mapped_column(Integer)
    # who started it (an API key id or "cli")
    owner: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BatchResult(Base):
    __tablename__ = "batch_results"
    __table_args__ = (
        UniqueConstraint("job_id", "path", name="uq_batch_results_job_path"),
        Index("ix_batch_results_job_action", "job_id", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("batch_jobs.id", ondelete="CASCADE"), nullable=False
    )
    # the file as the analyst knows it: relative to the folder, the archive
    # member name, or the line of the list
    path: Mapped[str] = mapped_column(Text, nullable=False)
    # ok: a decision; error: the file could not be processed; skipped: an
    # archive member refused before processing (traversal, link, bomb, ...)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    action: Mapped[str | None] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(32))
    label_source: Mapped[str | None] = mapped_column(String(32))
    policy_version: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list | None] = mapped_column(JSON)
    signals: Mapped[dict | None] = mapped_column(JSON)
    media: Mapped[dict | None] = mapped_column(JSON)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # a small JPEG for the HTML report, kept so a report can be made later
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)
    seconds: Mapped[float | None] = mapped_column(Float)
    # who posted the file, when the input says (a list's creator_id column):
    # near-duplicate groups count distinct creators
    creator_id: Mapped[str | None] = mapped_column(String(128))
    # the file's (first frame's) PDQ as 64 hex digits: near-duplicate groups
    pdq: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
