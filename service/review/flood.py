"""The flood guard: a bank entry that suddenly matches far more than usual stops acting.

A meme template banked by mistake would otherwise remove or escalate every
post of the meme. Each upload that matched an entry adds one to the entry's
count for the clock hour (`bank_match_counts`, an upsert: every worker and
machine adds to one row). When the hour's count passes both the floor
(AIGC_FLOOD_MIN_MATCHES, so a new entry's first matches never trip it) and
AIGC_FLOOD_FACTOR times the entry's usual hourly rate (its matches over the
last AIGC_FLOOD_BASELINE_HOURS, or since it was added if later), the entry is
quarantined: one conditional UPDATE decides which worker trips it, and that
worker opens the `quarantine` case and writes `bank.quarantined`, in one
transaction with the bank version every index watches.

While quarantined, a match removes nothing: the upload escalates to a person
(the bank source stops reporting the entry as confirmed; the scan route
holds a `remove` decided before its worker saw the change). The quarantine
case's verdict ends it: `cleared` takes the entry out of the bank (it was a
mistake), any other verdict lets it act again, `confirmed_misleading`
confirming it; the entry is not quarantined a second time (a person looked).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from labeler.decision import Reason

from ..bank.index import mark_stale
from ..bank.store import bump_version
from ..db.audit import add_admin_event
from ..db.bank import BankEntryRow
from ..db.base import session_scope
from ..db.outbox import add_event
from ..db.retro import BankMatchCountRow
from ..settings import Settings
from .cases import CaseInput, event_payload, open_case

HELD = "bank.quarantined"


@dataclass(frozen=True)
class FloodConfig:
    factor: float = 20.0
    min_matches: int = 50
    baseline_hours: int = 24 * 7

    @classmethod
    def from_settings(cls, settings: Settings) -> FloodConfig:
        return cls(
            factor=settings.flood_factor,
            min_matches=settings.flood_min_matches,
            baseline_hours=settings.flood_baseline_hours,
        )


def _hour(moment: datetime) -> int:
    return int(moment.timestamp() // 3600)


def _count(session, entry_id: str, hour: int) -> int:
    """Add one match to the entry's hour in a single upsert; the hour's count after it."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    table = BankMatchCountRow.__table__
    statement = dialect.insert(table).values(entry_id=entry_id, hour=hour, matches=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.entry_id, table.c.hour],
        set_={"matches": table.c.matches + 1},
    ).returning(table.c.matches)
    return int(session.execute(statement).scalar_one())


def usual_rate(session, entry: BankEntryRow, hour: int, config: FloodConfig) -> float:
    """Matches per hour over the baseline (the hours before this one, since the entry exists)."""
    added = entry.added_at if entry.added_at.tzinfo else entry.added_at.replace(tzinfo=UTC)
    hours = max(1, min(config.baseline_hours, hour - _hour(added)))
    before = session.scalar(
        select(func.coalesce(func.sum(BankMatchCountRow.matches), 0)).where(
            BankMatchCountRow.entry_id == str(entry.id),
            BankMatchCountRow.hour >= hour - hours,
            BankMatchCountRow.hour < hour,
        )
    )
    return int(before or 0) / hours


def _quarantine(session, entry: BankEntryRow, evidence: dict[str, Any]) -> str | None:
    """Trip the quarantine if no other worker did: the new case's id, or None."""
    now = datetime.now(UTC)
    tripped = session.execute(
        update(BankEntryRow)
        .where(
            BankEntryRow.id == entry.id,
            BankEntryRow.quarantined_at.is_(None),
            # a reviewer already decided on a flood of this entry: that decision holds
            BankEntryRow.quarantine_case_id.is_(None),
        )
        .values(quarantined_at=now)
    )
    if tripped.rowcount != 1:
        return None
    reason = {
        "code": "bank.flood",
        "message": (
            f"Bank entry {entry.id} matched {evidence['matches_this_hour']} uploads this hour, "
            f"about {evidence['times_usual']}x its usual rate: it may be a common picture "
            "banked by mistake. Its matches go to review until this case is decided."
        ),
        "evidence": evidence,
        "rule": "flood_quarantine",
        "action": "escalate",
    }
    match = {
        "matched": True,
        "entry_id": str(entry.id),
        "category": entry.category,
        "severity": entry.severity,
    }
    decision = {"action": "escalate", "reasons": [reason], "signals": {"match": match}}
    item = CaseInput(
        decision=decision,
        context={"source": "flood_guard"},
        scan_id=None,
        sha256=None,
        perceptual_hash=None,
        mime=None,
        kind="quarantine",
    )
    case = open_case(session, item, None)
    session.flush()
    entry.quarantine_case_id = case.id
    bump_version(session)
    add_admin_event(session, "bank.quarantine", None, str(entry.id), evidence)
    add_event(
        session, "bank.quarantined", event_payload(case, bank_entry_id=str(entry.id), **evidence)
    )
    return case.id


def record_match(url: str, entry_id: str, config: FloodConfig) -> bool:
    """Count one upload's match of the entry; True when the entry is (now) quarantined."""
    if not entry_id.isdigit():
        return False
    now = datetime.now(UTC)
    hour = _hour(now)
    tripped = False
    with session_scope(url) as session:
        entry = session.get(BankEntryRow, int(entry_id))
        if entry is None or not entry.active:
            return False
        if entry.quarantined_at is not None:
            _count(session, entry_id, hour)
            return True
        matches = _count(session, entry_id, hour)
        usual = usual_rate(session, entry, hour, config)
        reviewed = entry.quarantine_case_id is not None
        if not reviewed and matches > max(config.min_matches, config.factor * usual):
            evidence = {
                "matches_this_hour": matches,
                "usual_per_hour": round(usual, 2),
                "times_usual": round(matches / usual, 1) if usual else None,
                "factor": config.factor,
            }
            _quarantine(session, entry, evidence)
            tripped = True
    if tripped:
        mark_stale(url)
    return tripped


def hold(decision, entry_id: str):
    """The decision with its removal held: escalate to a person instead (a new Decision)."""
    if decision.action != "remove":
        return decision
    reason = Reason(
        code=HELD,
        message=(
            f"The matched bank entry {entry_id} is quarantined (it matched far more than "
            "usual): a person reviews this upload instead of it being removed."
        ),
        evidence={"entry_id": entry_id},
        rule="flood_quarantine",
        action="escalate",
    )
    return replace(
        decision, action="escalate", reasons=(*decision.reasons, reason), distribution="reduced"
    )


def settle(session, row, verdict: str, decided_by: str | None, organisation: str) -> bool:
    """A quarantine case's verdict ends the quarantine; True when the bank changed."""
    if row.kind != "quarantine" or not (row.matched_entry_id or "").isdigit():
        return False
    values: dict[str, Any] = {"quarantined_at": None}
    now = datetime.now(UTC)
    if verdict == "cleared":
        values.update(active=False, removed_at=now, removed_by=decided_by)
    elif verdict == "confirmed_misleading":
        values.update(confirmed_at=now, confirmed_by=organisation)
    session.execute(
        update(BankEntryRow).where(BankEntryRow.id == int(row.matched_entry_id)).values(**values)
    )
    bump_version(session)
    add_admin_event(
        session, "bank.quarantine_end", decided_by, row.matched_entry_id, {"verdict": verdict}
    )
    return True
