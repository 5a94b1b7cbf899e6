"""Claim, verdict and appeal: each one conditional UPDATE on the case's row version.

The case is read in one transaction; the change is a second one whose first
statement is `UPDATE cases ... WHERE id = :id AND version = :seen AND status
IN (...)`. Of two reviewers deciding at once, the database lets exactly one
UPDATE match (PostgreSQL re-checks the WHERE after the first commits; SQLite
serializes writers), and the other sees no row changed: 409, nothing else of
its verdict is written. No Python lock: it holds across workers and machines.

Everything a verdict causes is in its transaction: the bank entry (and the
bank version every worker's index watches), the negative-bank entry, the
audit event and the outbox event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from ..bank.errors import BankStoreError
from ..bank.index import mark_stale
from ..bank.store import active_duplicate, bump_version, new_row, stage_row
from ..db.audit import add_admin_event
from ..db.bank import BankEntryRow
from ..db.base import session_scope
from ..db.cases import VERDICTS, WAITING, AllowEntryRow, CaseMediaRow, CaseRow, CaseTopicRow
from ..db.outbox import add_event
from . import flood
from .cases import event_payload
from .errors import CaseConflict, CaseNotFound, InvalidVerdict
from .queue import Viewer, case_view, load_case
from .state import current_state

log = logging.getLogger(__name__)

BANK_CATEGORY = "misleading_deepfake"
BANK_SEVERITY = "high"
DEFAULT_ORGANISATION = "review_team"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    note: str | None = None
    fact_check_url: str | None = None
    # cleared: remember the media in the negative bank so it does not escalate again
    allow_list: bool = True


def _snapshot(url: str, case_id: str, viewer: Viewer) -> CaseRow:
    with session_scope(url) as session:
        return load_case(session, case_id, viewer)


def _move(session, row: CaseRow, allowed: tuple[str, ...], **values: Any) -> datetime:
    """The conditional UPDATE: the first statement of the transaction, or CaseConflict."""
    now = datetime.now(UTC)
    if "status" in values:
        values["waiting"] = values["status"] in WAITING
    result = session.execute(
        update(CaseRow)
        .where(CaseRow.id == row.id, CaseRow.version == row.version, CaseRow.status.in_(allowed))
        .values(version=row.version + 1, updated_at=now, **values)
    )
    if result.rowcount != 1:
        raise CaseConflict(
            f"case {row.id} changed meanwhile (another reviewer claimed or decided it); reload it"
        )
    if "waiting" in values:
        session.execute(
            update(CaseTopicRow)
            .where(CaseTopicRow.case_id == row.id)
            .values(waiting=values["waiting"])
        )
    return now


def _view(url: str, case_id: str, viewer: Viewer) -> dict[str, Any]:
    with session_scope(url) as session:
        return case_view(load_case(session, case_id, viewer), viewer)


def _refuse_decided(row: CaseRow, viewer: Viewer) -> None:
    if row.status == "decided":
        raise CaseConflict(
            f"case {row.id} is already decided ({row.verdict}); only an appeal reopens it"
        )
    if row.status == "in_review" and row.assignee not in (None, viewer.key_id):
        raise CaseConflict(f"case {row.id} is claimed by another reviewer")
    if row.appeals and viewer.key_id in (row.deciders or []):
        raise CaseConflict(f"case {row.id} was appealed: a different reviewer must decide it")


def claim(url: str, case_id: str, viewer: Viewer) -> dict[str, Any]:
    row = _snapshot(url, case_id, viewer)
    if row.status == "in_review" and row.assignee == viewer.key_id:
        return case_view(row, viewer)  # claiming twice is harmless
    _refuse_decided(row, viewer)
    with session_scope(url) as session:
        _move(session, row, ("open", "appealed"), status="in_review", assignee=viewer.key_id)
        add_admin_event(session, "case.claim", viewer.key_id, row.id, {"from": row.status})
    return _view(url, case_id, viewer)


def appeal(url: str, case_id: str, viewer: Viewer, reason: str | None) -> dict[str, Any]:
    """The creator of the upload asks for another look; anyone else is told it does not exist."""
    row = _snapshot(url, case_id, viewer)
    if viewer.role != "admin" and (
        viewer.creator_id is None or viewer.creator_id != row.creator_id
    ):
        raise CaseNotFound(f"no case with id {case_id!r}")
    if row.status != "decided":
        raise CaseConflict(f"case {row.id} is {row.status}: only a decided case can be appealed")
    if row.appeals:
        raise CaseConflict(f"case {row.id} was already appealed once")
    with session_scope(url) as session:
        _move(
            session,
            row,
            ("decided",),
            status="appealed",
            appeals=row.appeals + 1,
            assignee=None,
            previous_verdict=row.verdict,
        )
        add_admin_event(session, "case.appeal", viewer.key_id, row.id, {"reason": reason})
        add_event(session, "case.appealed", {**event_payload(row), "status": "appealed"})
    return _view(url, case_id, viewer)


def _bank_row(url: str, row: CaseRow, viewer: Viewer, verdict: Verdict):
    """The bank entry a confirmation creates (hashed before the transaction), or None."""
    with session_scope(url) as session:
        media = session.get(CaseMediaRow, row.id)
        data = media.data if media is not None else None
        filename = media.filename if media is not None else None
    fields = dict(
        category=BANK_CATEGORY,
        severity=BANK_SEVERITY,
        note=verdict.note,
        source=viewer.organisation or DEFAULT_ORGANISATION,
        added_by=viewer.key_id,
    )
    attempts = []
    if data:
        attempts.append(dict(data=data, filename=filename))
    if row.perceptual_hash:
        attempts.append(dict(pdq_hex=row.perceptual_hash))
    for source in attempts:
        try:
            return new_row(**source, **fields)
        except BankStoreError as exc:  # too plain to hash well: try the next, else no entry
            log.info("case %s: media not banked from %s: %s", row.id, list(source), exc)
    return None, None


def _confirm_in_bank(session, row: CaseRow, viewer: Viewer, verdict: Verdict, built) -> int | None:
    entry, video = built
    if entry is None:
        return None
    now = datetime.now(UTC)
    confirmed = dict(
        confirmed_at=now,
        confirmed_by=viewer.organisation or DEFAULT_ORGANISATION,
        reference_url=verdict.fact_check_url,
        case_id=row.id,
    )
    existing = active_duplicate(session, entry.media_sha256)
    if existing is not None:
        # the same bytes are banked already (an import): the verdict confirms that entry
        session.execute(
            update(BankEntryRow)
            .where(BankEntryRow.id == existing)
            .values(severity=BANK_SEVERITY, note=verdict.note, **confirmed)
        )
        bump_version(session)
        return existing
    for name, value in confirmed.items():
        setattr(entry, name, value)
    stage_row(session, entry, video, origin="verdict")
    return entry.id


def _undo_effects(session, row: CaseRow, viewer: Viewer, verdict: str) -> bool:
    """An appeal decided differently takes back what the first verdict put in the banks."""
    moved = False
    if row.bank_entry_id is not None and verdict != "confirmed_misleading":
        session.execute(
            update(BankEntryRow)
            .where(BankEntryRow.id == row.bank_entry_id, BankEntryRow.case_id == row.id)
            .values(active=False, removed_at=datetime.now(UTC), removed_by=viewer.key_id)
        )
        bump_version(session)
        moved = True
    if verdict != "cleared":
        session.execute(
            update(AllowEntryRow).where(AllowEntryRow.case_id == row.id).values(active=False)
        )
    return moved


def _allow(session, row: CaseRow, viewer: Viewer) -> None:
    reasons = row.reasons or []
    # batch rows carry no per-reason action: then every reason the case was opened for
    marked = [r for r in reasons if r.get("action") == "escalate"]
    codes = sorted({r.get("code") for r in (marked or reasons) if r.get("code")})
    if codes and (row.sha256 or row.perceptual_hash):
        session.add(
            AllowEntryRow(
                sha256=row.sha256,
                pdq=row.perceptual_hash,
                reasons=codes,
                case_id=row.id,
                added_by=viewer.key_id,
                added_at=datetime.now(UTC),
                active=True,
            )
        )


def decide(url: str, case_id: str, viewer: Viewer, verdict: Verdict) -> dict[str, Any]:
    if verdict.verdict not in VERDICTS:
        raise InvalidVerdict(f"unknown verdict {verdict.verdict!r}; allowed: {', '.join(VERDICTS)}")
    row = _snapshot(url, case_id, viewer)
    _refuse_decided(row, viewer)
    confirmed = verdict.verdict == "confirmed_misleading"
    built = (
        _bank_row(url, row, viewer, verdict)
        if confirmed and row.bank_entry_id is None
        else (None, None)
    )
    organisation = viewer.organisation or DEFAULT_ORGANISATION
    with session_scope(url) as session:
        now = _move(
            session,
            row,
            ("open", "in_review", "appealed"),
            status="decided",
            verdict=verdict.verdict,
            note=verdict.note,
            fact_check_url=verdict.fact_check_url,
            decided_by=viewer.key_id,
            decided_org=organisation,
            decided_at=datetime.now(UTC),
            assignee=viewer.key_id,
            deciders=[*(row.deciders or []), viewer.key_id],
        )
        bank_moved = _undo_effects(session, row, viewer, verdict.verdict)
        entry_id = row.bank_entry_id if row.bank_entry_id and confirmed else None
        if confirmed and entry_id is None:
            entry_id = _confirm_in_bank(session, row, viewer, verdict, built)
            bank_moved = bank_moved or entry_id is not None
        session.execute(update(CaseRow).where(CaseRow.id == row.id).values(bank_entry_id=entry_id))
        if verdict.verdict == "cleared" and verdict.allow_list and row.kind != "quarantine":
            _allow(session, row, viewer)
        bank_moved = flood.settle(session, row, verdict.verdict, viewer.key_id, organisation) or (
            bank_moved
        )
        state = current_state(row.decision, "decided", verdict.verdict)
        detail = {"verdict": verdict.verdict, "bank_entry_id": entry_id, "appeal": row.appeals}
        add_admin_event(session, "case.verdict", viewer.key_id, row.id, detail)
        payload = {**event_payload(row), "status": "decided", "verdict": verdict.verdict}
        payload.update(organisation=organisation, decided_at=now.isoformat(), current=state)
        payload["fact_check_url"] = verdict.fact_check_url
        add_event(session, "case.verdict", payload)
    if bank_moved:
        mark_stale(url)
    return _view(url, case_id, viewer)
