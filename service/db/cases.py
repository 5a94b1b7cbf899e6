"""Tables of the review loop: cases, their media, and the negative bank.

A case is what a person decides: an escalated upload (`kind` "upload"), and
later a retroactive bank hit ("retroactive") or a bank entry that matches far
too often ("quarantine"). Its status moves open -> in_review -> decided
(-> appealed -> in_review -> decided); every move is a conditional UPDATE on
`version`, so two reviewers deciding at once cannot both win, whatever the
number of workers or machines.

The media and thumbnail live in their own table: the queue lists thousands of
cases and never needs their bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utc_now

STATUSES = ("open", "in_review", "decided", "appealed")
WAITING = ("open", "in_review", "appealed")
# what each verdict means for the upload (service/review/state.py reads these)
VERDICTS = ("confirmed_misleading", "unverified", "ai_label_only", "cleared")
KINDS = ("upload", "retroactive", "quarantine")


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="upload")
    # opened by a bank entry added after the upload (retroactive matching)
    retroactive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    scan_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # status is open, in_review or appealed: the queue's one indexed condition, so
    # "everything waiting, highest priority first" is an index walk, not a sort
    waiting: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    # ",elections,health,": one LIKE finds a topic without a join table
    topics: Mapped[str] = mapped_column(String(512), nullable=False, default="")
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    creator_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    perceptual_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mime: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the bank entry the upload matched (evidence; a quarantine case names its entry)
    matched_entry_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the bank entry a confirmed verdict created
    bank_entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    fact_check_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decided_org: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # key ids of everyone who decided this case: after an appeal none of them may decide
    deciders: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    appeals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # the verdict before the last appeal, so a reversal can be counted
    previous_verdict: Mapped[str | None] = mapped_column(String(32), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    __table_args__ = (
        # the queue: by status, highest priority first, oldest first among equals
        Index("ix_cases_queue", "status", "priority", "created_at"),
        Index("ix_cases_waiting", "waiting", "priority", "created_at"),
        Index("ix_cases_creator_verdict", "creator_id", "verdict"),
    )


class CaseTopicRow(Base):
    """One row per topic of a case, with the queue's sort columns copied.

    The queue filtered by topic (a reviewer's, and every fact-checker's routing)
    is then an index walk and an index-only count, however many cases wait.
    `waiting` moves with the case's status; priority and creation never change.
    """

    __tablename__ = "case_topics"

    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    waiting: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_case_topics_queue", "topic", "waiting", "priority", "created_at"),)


class CaseMediaRow(Base):
    """The upload itself (so a confirmed verdict can bank it) and a small JPEG of it."""

    __tablename__ = "case_media"

    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    filename: Mapped[str | None] = mapped_column(String(256), nullable=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class AllowEntryRow(Base):
    """The negative bank: media a reviewer cleared, and for which reasons.

    An upload that is this media (same bytes, or a PDQ within the radius) no
    longer escalates for those reasons; any other reason still does.
    """

    __tablename__ = "allow_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    case_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    added_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
