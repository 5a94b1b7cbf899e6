"""The matched bank entry of a case, shown beside the upload on the reviewer page.

Bank entries keep hashes, not media; when the entry came from an earlier
verdict, that case's thumbnail is the picture the reviewer compares with, if
the viewer may see that case at all.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from ..db.bank import BankEntryRow
from ..db.cases import CaseMediaRow, CaseRow
from .queue import Viewer, is_routed


def _iso(value) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def matched_entry(session, row: CaseRow, viewer: Viewer) -> dict[str, Any] | None:
    if not row.matched_entry_id or not row.matched_entry_id.isdigit():
        return None
    entry = session.get(BankEntryRow, int(row.matched_entry_id))
    if entry is None:
        return None
    match = (row.signals or {}).get("match") or {}
    thumbnail_url = None
    if entry.case_id:
        origin = session.get(CaseRow, entry.case_id)
        media = session.get(CaseMediaRow, entry.case_id) if origin is not None else None
        if origin is not None and is_routed(origin, viewer) and media and media.thumbnail:
            thumbnail_url = f"/v1/cases/{origin.id}/thumbnail"
    return {
        "id": entry.id,
        "category": entry.category,
        "severity": entry.severity,
        "source": entry.source,
        "note": entry.note,
        "reference_url": entry.reference_url,
        "confirmed": entry.confirmed_at is not None,
        "active": entry.active,
        "quarantined": entry.quarantined_at is not None,
        "added_at": _iso(entry.added_at),
        "distance": match.get("distance"),
        "case_id": entry.case_id,
        "thumbnail_url": thumbnail_url,
    }
