"""Tables of the bank's look back and its flood guard.

`retro_jobs`: one row per batch of new bank entries whose recent uploads must
be matched again (service/review/retro.py runs them). The row is written in
the transaction that adds the entries, so an entry is never banked without
its look back being owed; the cursor `(cursor_at, cursor_id)` moves in the
same transaction as the cases a chunk opened, so a job resumed after a crash
neither skips nor repeats a scan.

`bank_match_counts`: matches per bank entry per clock hour, counted in the
database so every worker and machine adds to one figure (the flood guard in
service/review/flood.py reads it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..settings import Settings
from .base import Base, utc_now

JOB_STATES = ("pending", "running", "done", "failed")


class RetroJobRow(Base):
    __tablename__ = "retro_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    # the bank entries to look back for; "why": verdict, add, import
    entry_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    origin: Mapped[str] = mapped_column(String(32), nullable=False, default="add")
    # the window of uploads: [since, until); later uploads met the entry live
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    cursor_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cursor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    scanned: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_retro_jobs_state", "state", "id"),)


class BankMatchCountRow(Base):
    __tablename__ = "bank_match_counts"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # the clock hour, as a whole number of hours since the epoch
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    matches: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


def enqueue_retro(session, entry_ids, origin: str, days: int | None = None) -> RetroJobRow | None:
    """Stage the look back for new entries in the caller's transaction (None if no entries).

    `days` defaults to AIGC_RETRO_DAYS as it is now: bank changes come from the
    CLI, imports and verdicts alike, none of which holds the service's settings.
    """
    if days is None:
        days = Settings.from_env().retro_days
    ids = sorted({int(i) for i in entry_ids if i is not None})
    if not ids or days <= 0:
        return None
    now = utc_now()
    row = RetroJobRow(
        created_at=now,
        updated_at=now,
        state="pending",
        entry_ids=ids,
        origin=origin,
        since=now - timedelta(days=days),
        until=now,
        scanned=0,
        hits=0,
    )
    session.add(row)
    return row
