"""The transactional outbox: events the platform must act on, written in the
same transaction as the change they report, delivered later by
service/review/deliver.py.

A row is `pending` until a receiver acknowledged it (`delivered`) or it ran
out of attempts (`dead`, listed for admins). A deliverer claims a row by
setting `lease_owner`/`lease_until` with a conditional UPDATE; a deliverer
that dies mid-delivery simply lets its lease run out and another one sends
the row again (at least once; the receiver deduplicates by `event_id`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

EVENT_KINDS = (
    "case.opened",
    "case.claimed",
    "case.verdict",
    "case.appealed",
    "upload.removed",
    # hooks for retroactive matching and flood quarantine
    "retroactive.hit",
    "bank.quarantined",
)
STATES = ("pending", "delivered", "dead")


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # the idempotency key the receiver deduplicates by
    event_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


def add_event(session, kind: str, payload: dict[str, Any]) -> OutboxRow:
    """Stage one event in the caller's transaction: it exists exactly when the change does."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    now = datetime.now(UTC)
    row = OutboxRow(
        event_id=uuid.uuid4().hex,
        kind=kind,
        payload=dict(payload),
        created_at=now,
        state="pending",
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row
