"""The outbox as admins see it: counts per state, the rows of one state, a retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from ..db.outbox import STATES, OutboxRow
from .errors import CaseNotFound, ReviewError


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def row_dict(row: OutboxRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "kind": row.kind,
        "state": row.state,
        "attempts": row.attempts,
        "created_at": _iso(row.created_at),
        "next_attempt_at": _iso(row.next_attempt_at),
        "delivered_at": _iso(row.delivered_at),
        "last_error": row.last_error,
        "payload": row.payload,
    }


def counts(session) -> dict[str, int]:
    found = dict(
        session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all()
    )
    return {state: int(found.get(state, 0)) for state in STATES}


def list_events(session, state: str, page: int, per_page: int) -> list[dict[str, Any]]:
    if state not in STATES:
        raise ReviewError(f"state must be one of {', '.join(STATES)}")
    rows = session.scalars(
        select(OutboxRow)
        .where(OutboxRow.state == state)
        .order_by(OutboxRow.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [row_dict(r) for r in rows]


def retry(session, event_id: int) -> dict[str, Any]:
    """A dead event back to pending, with a fresh set of attempts (after the receiver is fixed)."""
    done = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == event_id, OutboxRow.state == "dead")
        .values(state="pending", attempts=0, next_attempt_at=datetime.now(UTC), lease_until=None)
    ).rowcount
    if done != 1:
        raise CaseNotFound(f"no dead-lettered event {event_id}")
    return row_dict(session.get(OutboxRow, event_id))
