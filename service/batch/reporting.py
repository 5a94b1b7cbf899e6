"""Write a job's report from the database (so it can be made again at any time)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service.db.bank import BankEntryRow
from service.db.base import session_scope
from service.reports import format_for, write_report

from .store import JobStore


def matched_entries(url: str, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The bank entries the rows matched: their note, source and reference for the cards."""
    ids = set()
    for row in rows:
        match = (row.get("signals") or {}).get("match") or {}
        if match.get("entry_id") and str(match["entry_id"]).isdigit():
            ids.add(int(match["entry_id"]))
    found: dict[str, dict[str, Any]] = {}
    with session_scope(url) as s:
        for chunk in _chunks(sorted(ids), 500):
            for e in s.scalars(select(BankEntryRow).where(BankEntryRow.id.in_(chunk))):
                found[str(e.id)] = {
                    "category": e.category,
                    "note": e.note,
                    "source": e.source,
                    "reference_url": e.reference_url,
                }
    return found


def _chunks(items: list[int], size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write_job_report(store: JobStore, job_id: str, out: str | os.PathLike) -> str:
    """Write the report whose format OUT's extension names; returns the format."""
    out = Path(out)
    fmt = format_for(out)
    view = store.view(job_id)
    rows = store.results(job_id, thumbnails=(fmt == "html"))
    entries = None
    if fmt == "html":
        rows = list(rows)  # the page holds every row anyway; the entries need their ids
        entries = matched_entries(store.url, rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    # written beside and renamed: a reader never sees half a report
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write_report(fmt, rows, fh, view.to_dict(), entries)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the report from the analyst's team
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return fmt
