"""Transparency figures for a period: what the platform decided, reviewed and reversed.

The figures a platform publishes (the EU DSA's transparency reports ask for
decisions per ground, time to decision, appeals and reversals): uploads per
action, label, reason and topic from the audit trail; cases opened per kind
(retroactive hits, quarantines); verdicts, time from case to verdict (p50,
p90), appeal and reversal rates of the cases decided in the period. Counts
only: no creator, media or bank entry is named.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from ..db.audit import ScanRecord
from ..db.base import session_scope
from ..db.cases import CaseRow

# rows read per round trip: a month of a busy platform never sits in memory at once
_PER_FETCH = 5_000


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC): both dates inclusive."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return (
        datetime.combine(start, time(), UTC),
        datetime.combine(end + timedelta(days=1), time(), UTC),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil without floats drifting
    return ordered[min(rank, len(ordered)) - 1]


def _uploads(session, since: datetime, until: datetime) -> dict[str, Any]:
    actions, labels, reasons = Counter(), Counter(), Counter()
    query = (
        select(ScanRecord.action, ScanRecord.label, ScanRecord.decision)
        .where(
            ScanRecord.endpoint == "scan",
            ScanRecord.created_at >= since,
            ScanRecord.created_at < until,
        )
        .execution_options(yield_per=_PER_FETCH)
    )
    total = 0
    for action, label, decision in session.execute(query):
        total += 1
        actions[action] += 1
        labels[label or "none"] += 1
        for code in {r.get("code") for r in (decision or {}).get("reasons") or []}:
            if code:
                reasons[code] += 1
    return {
        "total": total,
        "by_action": dict(actions.most_common()),
        "by_label": dict(labels.most_common()),
        "by_reason": dict(reasons.most_common()),
    }


def _opened(session, since: datetime, until: datetime) -> dict[str, Any]:
    kinds, topics = Counter(), Counter()
    query = select(CaseRow.kind, CaseRow.topics).where(
        CaseRow.created_at >= since, CaseRow.created_at < until
    )
    for kind, joined in session.execute(query):
        kinds[kind] += 1
        for topic in (t for t in joined.split(",") if t):
            topics[topic] += 1
    return {
        "total": sum(kinds.values()),
        "by_kind": dict(kinds.most_common()),
        "by_topic": dict(topics.most_common()),
        "retroactive_hits": kinds.get("retroactive", 0),
        "quarantines": kinds.get("quarantine", 0),
    }


def _decided(session, since: datetime, until: datetime) -> dict[str, Any]:
    verdicts, topics = Counter(), Counter()
    waits: list[float] = []
    appealed = reversed_ = 0
    query = select(
        CaseRow.verdict,
        CaseRow.topics,
        CaseRow.created_at,
        CaseRow.decided_at,
        CaseRow.appeals,
        CaseRow.previous_verdict,
    ).where(CaseRow.decided_at >= since, CaseRow.decided_at < until, CaseRow.verdict.is_not(None))
    for verdict, joined, created, decided, appeals, previous in session.execute(query):
        verdicts[verdict] += 1
        for topic in (t for t in joined.split(",") if t):
            topics[topic] += 1
        waits.append((_utc(decided) - _utc(created)).total_seconds())
        if appeals:
            appealed += 1
            reversed_ += int(previous is not None and previous != verdict)
    decided_n = sum(verdicts.values())
    return {
        "total": decided_n,
        "by_verdict": dict(verdicts.most_common()),
        "by_topic": dict(topics.most_common()),
        "time_to_verdict_s": {"p50": percentile(waits, 50), "p90": percentile(waits, 90)},
        "appeals": appealed,
        "appeal_rate": round(appealed / decided_n, 4) if decided_n else None,
        "reversals": reversed_,
        # of the appealed cases, how many ended with a different verdict
        "reversal_rate": round(reversed_ / appealed, 4) if appealed else None,
    }


def transparency(url: str, start: date, end: date) -> dict[str, Any]:
    since, until = period(start, end)
    with session_scope(url) as session:
        return {
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "uploads": _uploads(session, since, until),
            "cases_opened": _opened(session, since, until),
            "cases_decided": _decided(session, since, until),
        }
