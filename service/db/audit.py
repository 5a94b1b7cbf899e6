"""The append-only audit trail: every decision the service made, and every admin change.

Rows are written once and never changed: the ORM refuses updates and deletes of
these classes, so a bug cannot quietly rewrite history (a DBA still can; the
trail is for accountability, not tamper-proofing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, String, event, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AuditImmutable(RuntimeError):
    """Something tried to change or delete an audit row."""


class ScanRecord(Base):
    __tablename__ = "scan_audit"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # "scan" (pipeline hook) or "label-check" (creator page)
    endpoint: Mapped[str] = mapped_column(String(16), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # PDQ as 64 hex digits when it could be computed (None for undecodable media)
    perceptual_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mime: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    label: Mapped[str | None] = mapped_column(String(32), nullable=True)
    policy_version: Mapped[str] = mapped_column(String(64), nullable=False)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    elapsed_ms: Mapped[float] = mapped_column(Float, nullable=False)

    __table_args__ = (
        Index("ix_scan_audit_sha256", "sha256"),
        # the retroactive look back walks recent scans in time order
        Index("ix_scan_audit_created", "created_at", "id"),
    )


class AdminEvent(Base):
    """Who changed the bank or the keys, when, and what."""

    __tablename__ = "admin_audit"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(48), nullable=False)
    target: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


@event.listens_for(ScanRecord, "before_update")
@event.listens_for(ScanRecord, "before_delete")
@event.listens_for(AdminEvent, "before_update")
@event.listens_for(AdminEvent, "before_delete")
def _refuse_change(_mapper, _connection, target) -> None:
    raise AuditImmutable(f"{type(target).__name__} rows are append-only")


@dataclass(frozen=True)
class ScanRow:
    id: str
    created_at: datetime
    endpoint: str
    sha256: str
    perceptual_hash: str | None
    mime: str | None
    action: str
    label: str | None
    policy_version: str
    signals: dict[str, Any]
    decision: dict[str, Any]
    context: dict[str, Any]
    api_key_id: str | None
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "scan_id": self.id,
            "created_at": self.created_at.isoformat(),
            "endpoint": self.endpoint,
            "sha256": self.sha256,
            "perceptual_hash": self.perceptual_hash,
            "mime": self.mime,
            "action": self.action,
            "label": self.label,
            "policy_version": self.policy_version,
            "signals": self.signals,
            "decision": self.decision,
            "context": self.context,
            "api_key_id": self.api_key_id,
            "elapsed_ms": self.elapsed_ms,
        }


def new_scan_id() -> str:
    return uuid.uuid4().hex


def add_scan(session, **values) -> ScanRecord:
    """Stage one audit row in the caller's transaction (nothing partial is ever committed)."""
    values.setdefault("id", new_scan_id())
    values.setdefault("created_at", datetime.now(UTC))
    row = ScanRecord(**values)
    session.add(row)
    return row


def get_scan(session, scan_id: str) -> ScanRow | None:
    row = session.get(ScanRecord, scan_id)
    if row is None:
        return None
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes
        created = created.replace(tzinfo=UTC)
    return ScanRow(
        row.id,
        created,
        row.endpoint,
        row.sha256,
        row.perceptual_hash,
        row.mime,
        row.action,
        row.label,
        row.policy_version,
        row.signals,
        row.decision,
        row.context,
        row.api_key_id,
        row.elapsed_ms,
    )


def add_admin_event(
    session, action: str, api_key_id: str | None, target: str | None, detail: dict | None = None
) -> AdminEvent:
    row = AdminEvent(
        id=uuid.uuid4().hex,
        created_at=datetime.now(UTC),
        api_key_id=api_key_id,
        action=action,
        target=target,
        detail=dict(detail or {}),
    )
    session.add(row)
    return row


def admin_events(session, action: str | None = None) -> list[AdminEvent]:
    query = select(AdminEvent).order_by(AdminEvent.created_at)
    if action:
        query = query.where(AdminEvent.action == action)
    return list(session.scalars(query).all())
