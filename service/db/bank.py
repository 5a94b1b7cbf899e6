"""Tables of the bank of known manipulated media and its version counter.

Hashes are stored as lowercase hex (the form HMA and ThreatExchange export),
local features as an opaque versioned blob (matching.LocalFeatures). Rows
are never deleted: removing an entry clears `active`, so an audit can say
what was matched when. `bank_state.version` goes up in the same
transaction as every change; each worker compares it to the version of its
in-memory index and rebuilds when they differ (HMA's bank checkpoint idea).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utc_now


class BankEntryRow(Base):
    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # who reported it: "fact_checker", "review_team", "partner", or a free name
    source: Mapped[str | None] = mapped_column(String(128), nullable=True)
    added_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    removed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # the id the entry had in the system it was imported from (HMA content id, ...)
    external_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # sha256 of the media bytes, when added from media (refuses double adds)
    media_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the 8 dihedral variants, comma-separated hex in matching.DIHEDRAL_NAMES order
    pdq_dihedral: Mapped[str | None] = mapped_column(Text, nullable=True)
    # PDQ of the picture inside letterbox/pillarbox bars, when it had bars
    pdq_unboxed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phash: Mapped[str | None] = mapped_column(String(16), nullable=True)
    features: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # set when a person's verdict confirmed the entry: only confirmed entries
    # remove re-uploads at once (labeler policy `bank_remove`); imports stay unconfirmed
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # the fact-check article behind a confirmation, and the case it came from
    reference_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # set while the entry matches far above its usual rate (service/review/flood.py):
    # its matches go to review instead of acting, until a reviewer confirms it
    quarantined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    quarantine_case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (Index("ix_bank_entries_active_category", "active", "category"),)


class BankStateRow(Base):
    """One row (id 1): the bank's version, bumped by every change."""

    __tablename__ = "bank_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
