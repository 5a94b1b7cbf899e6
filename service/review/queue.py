"""The queue and one case, as each role may see them.

A fact-checker (a partner organisation) sees only the cases routed to it by
topic (and language, when its key names languages), and nothing of the
creator beyond the upload and its context: no creator id, no history. A case
that is not routed to it does not exist for it (404, never 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal_column, or_, select

from ..db.cases import STATUSES, CaseMediaRow, CaseRow, CaseTopicRow
from .errors import CaseNotFound, ReviewError

_CREATOR_KEYS = ("creator_id", "creator_history")


@dataclass(frozen=True)
class Viewer:
    """Who looks: the key's id and role, and a fact-checker's routing."""

    key_id: str | None
    role: str
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    creator_id: str | None = None
    organisation: str | None = None

    @property
    def partner(self) -> bool:
        return self.role == "fact_checker"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def routed(query, viewer: Viewer):
    """Narrow a query on cases to what the viewer may see."""
    if not viewer.partner:
        return query
    if not viewer.topics:
        return query.where(False)
    ct = CaseTopicRow
    query = query.where(CaseRow.id.in_(select(ct.case_id).where(ct.topic.in_(viewer.topics))))
    if viewer.languages:
        # a case whose language is unknown goes to every partner of its topic
        query = query.where(or_(CaseRow.language.is_(None), CaseRow.language.in_(viewer.languages)))
    return query


def is_routed(row: CaseRow, viewer: Viewer) -> bool:
    if not viewer.partner:
        return True
    topics = {t for t in row.topics.split(",") if t}
    if not topics & set(viewer.topics):
        return False
    return not viewer.languages or row.language is None or row.language in viewer.languages


def list_cases(
    session,
    viewer: Viewer,
    *,
    status: str | None = None,
    topic: str | None = None,
    min_priority: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the queue, highest priority first (oldest first among equals), and the
    total (COUNT_LIMIT + 1 means "more than COUNT_LIMIT")."""
    if status is not None and status not in STATUSES:
        raise ReviewError(f"status must be one of {', '.join(STATUSES)}")
    columns = [CaseRow.__table__.c[name] for name in _LIST_COLUMNS]
    if topic:
        # through the topic table: an index walk and an index-only count
        ct = CaseTopicRow
        sort = (ct.priority.desc(), ct.created_at, ct.case_id)
        where = [ct.topic == topic.lower()]
        where.append(CaseRow.status == status if status else ct.waiting.is_(True))
        if min_priority is not None:
            where.append(ct.priority >= min_priority)
        query = select(*columns).join(ct, ct.case_id == CaseRow.id).where(*where)
        counted = select(literal_column("1")).select_from(ct)
        if status or viewer.partner:
            counted = counted.join(CaseRow, CaseRow.id == ct.case_id)
        counted = counted.where(*where)
    else:
        sort = (CaseRow.priority.desc(), CaseRow.created_at, CaseRow.id)
        # by default everything that still needs a person
        where = [CaseRow.status == status if status else CaseRow.waiting.is_(True)]
        if min_priority is not None:
            where.append(CaseRow.priority >= min_priority)
        query = select(*columns).where(*where)
        # `1`, not a column: the count then reads the index alone
        counted = select(literal_column("1")).select_from(CaseRow).where(*where)
    query, counted = routed(query, viewer), routed(counted, viewer)
    # counted up to a bound: an exact count of 10^5 waiting cases costs more
    # than the page itself, and "more than 10 000" is all a reviewer needs
    limited = counted.limit(COUNT_LIMIT + 1).subquery()
    total = session.scalar(select(func.count()).select_from(limited))
    rows = session.execute(
        query.order_by(*sort).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return [_summary(r._mapping, viewer) for r in rows], int(total or 0)


COUNT_LIMIT = 10_000


_LIST_COLUMNS = (
    "id",
    "kind",
    "retroactive",
    "scan_id",
    "status",
    "priority",
    "topics",
    "language",
    "reasons",
    "creator_id",
    "assignee",
    "verdict",
    "created_at",
    "updated_at",
)


def _summary(row, viewer: Viewer) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "kind": row["kind"],
        "retroactive": row["retroactive"],
        "scan_id": row["scan_id"],
        "status": row["status"],
        "priority": row["priority"],
        "topics": [t for t in row["topics"].split(",") if t],
        "language": row["language"],
        "reasons": [r.get("code") for r in row["reasons"] or []],
        "assignee": row["assignee"],
        "verdict": row["verdict"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }
    if not viewer.partner:
        out["creator_id"] = row["creator_id"]
    return out


def load_case(session, case_id: str, viewer: Viewer) -> CaseRow:
    """The case, or CaseNotFound when it does not exist or is not routed to the viewer."""
    row = session.get(CaseRow, case_id)
    if row is None or not is_routed(row, viewer):
        raise CaseNotFound(f"no case with id {case_id!r}")
    return row


def _without_creator(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for reason in reasons:
        evidence = {k: v for k, v in (reason.get("evidence") or {}).items() if "creator" not in k}
        out.append({**reason, "evidence": evidence})
    return out


def case_view(row: CaseRow, viewer: Viewer) -> dict[str, Any]:
    """Everything a reviewer decides on; a fact-checker's copy has no creator data."""
    context = dict(row.context or {})
    reasons = list(row.reasons or [])
    view = {
        "id": row.id,
        "kind": row.kind,
        "retroactive": row.retroactive,
        "scan_id": row.scan_id,
        "status": row.status,
        "priority": row.priority,
        "topics": [t for t in row.topics.split(",") if t],
        "language": row.language,
        "reasons": reasons,
        "signals": row.signals,
        "context": context,
        "mime": row.mime,
        "sha256": row.sha256,
        "perceptual_hash": row.perceptual_hash,
        "matched_entry_id": row.matched_entry_id,
        "bank_entry_id": row.bank_entry_id,
        "assignee": row.assignee,
        "verdict": row.verdict,
        "note": row.note,
        "fact_check_url": row.fact_check_url,
        "decided_by": row.decided_by,
        "decided_org": row.decided_org,
        "decided_at": _iso(row.decided_at),
        "appeals": row.appeals,
        "version": row.version,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "thumbnail_url": f"/v1/cases/{row.id}/thumbnail",
        "creator_id": row.creator_id,
    }
    if viewer.partner:
        view.pop("creator_id")
        view["context"] = {k: v for k, v in context.items() if k not in _CREATOR_KEYS}
        view["reasons"] = _without_creator(reasons)
    return view


def case_thumbnail(session, case_id: str, viewer: Viewer) -> bytes | None:
    load_case(session, case_id, viewer)
    media = session.get(CaseMediaRow, case_id)
    return media.thumbnail if media is not None else None
