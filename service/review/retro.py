"""Retroactive matching: new bank entries against the uploads already decided.

A job (service/db/retro.py) names the new entries and a window of scans.
A runner claims it with a lease (a conditional UPDATE, so two runners never
work one job), then walks the window in (created_at, id) order one chunk at a
time: the chunk's stored PDQs are packed into uint64 words and compared with
every code of the entries (the PDQ, its 8 rotations and mirrors, the
unboxed PDQ) by one vectorised popcount per code. The chunk's cases, their
`retroactive.hit` events and the job's cursor move in one transaction: a
runner killed mid-job leaves the cursor where its last chunk ended, and the
next runner resumes there.

Scans that already matched the entry at upload, were removed at upload, came
from the case whose verdict banked the entry, or already have a retroactive
case for it are skipped: the look back only reports what the upload did not
know.
"""

from __future__ import annotations

import binascii
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, func, or_, select, tuple_, update

import matching
from matching.codes import from_hex_column, pack_words
from matching.index import HammingIndex

from ..db.audit import ScanRecord, get_scan
from ..db.bank import BankEntryRow
from ..db.base import session_scope
from ..db.cases import CaseRow
from ..db.outbox import add_event
from ..db.retro import RetroJobRow
from ..settings import Settings
from .cases import CaseInput, event_payload, open_case

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetroConfig:
    radius: int = matching.DEFAULT_RADIUS
    chunk: int = 50_000
    lease_s: float = 300.0
    poll_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetroConfig:
        return cls(chunk=settings.retro_chunk)


@dataclass(frozen=True)
class EntryCodes:
    """Every code of the entries as (q, 4) uint64 words, and whose each row is."""

    words: np.ndarray
    owners: np.ndarray
    meta: dict[int, tuple[str, str | None]]


def entry_codes(session, entry_ids: list[int]) -> EntryCodes:
    rows = session.execute(
        select(
            BankEntryRow.id,
            BankEntryRow.pdq,
            BankEntryRow.pdq_dihedral,
            BankEntryRow.pdq_unboxed,
            BankEntryRow.category,
            BankEntryRow.severity,
        ).where(BankEntryRow.id.in_(entry_ids), BankEntryRow.active.is_(True))
    ).all()
    codes: list[str] = []
    owners: list[int] = []
    meta = {}
    for entry_id, pdq, dihedral, unboxed, category, severity in rows:
        meta[entry_id] = (category, severity)
        mine = {pdq, unboxed, *((dihedral or "").split(","))} - {None, ""}
        codes.extend(mine)
        owners.extend([entry_id] * len(mine))
    parsed, ok = from_hex_column(codes)
    return EntryCodes(pack_words(parsed[ok]), np.asarray(owners, np.int64)[ok], meta)


# above this many codes (an import of a list), the entries are indexed and each scan is
# a query; below it one popcount pass per code over the chunk is cheaper
INDEX_FROM = 64


def _keep(best: dict[tuple[int, int], int], row: int, owner: int, dist: int) -> None:
    if dist < best.get((row, owner), 257):
        best[(row, owner)] = dist


def match_words(
    words: np.ndarray, codes: EntryCodes, radius: int, index_from: int = INDEX_FROM
) -> list[tuple[int, int, int]]:
    """(row, entry id, distance) for every row within `radius` of an entry (nearest code)."""
    best: dict[tuple[int, int], int] = {}
    if len(codes.words) > index_from:
        index = HammingIndex(codes.words)
        as_bytes = words.astype(">u8").view(np.uint8).reshape(-1, 32)
        for row, (found, dists) in enumerate(index.search(as_bytes, radius)):
            for at, dist in zip(found.tolist(), dists.tolist(), strict=True):
                _keep(best, row, int(codes.owners[at]), dist)
    else:
        for q, owner in zip(codes.words, codes.owners, strict=True):
            d = np.bitwise_count(words ^ q).sum(axis=1, dtype=np.uint16)
            for row in np.flatnonzero(d <= radius):
                _keep(best, int(row), int(owner), int(d[row]))
    return [(row, owner, dist) for (row, owner), dist in sorted(best.items())]


def _retro_input(scan, entry_id: int, meta, distance: int) -> CaseInput:
    category, severity = meta
    decision = dict(scan.decision)
    reason = {
        "code": f"bank.match.{category}",
        "message": "A bank entry added after this upload matches it.",
        "evidence": {"retroactive": True, "entry_id": str(entry_id)},
        "rule": "retroactive_match",
        "action": "escalate",
    }
    signals = dict(scan.signals)
    signals["match"] = {
        "matched": True,
        "entry_id": str(entry_id),
        "category": category,
        "severity": severity,
        "distance": distance,
        "query_pdq": scan.perceptual_hash,
        "retroactive": True,
    }
    decision.update(
        reasons=[*(decision.get("reasons") or []), reason],
        signals=signals,
        action="escalate",
        action_at_upload=scan.action,
        distribution="reduced",
    )
    return CaseInput(
        decision=decision,
        context=dict(scan.context),
        scan_id=scan.id,
        sha256=scan.sha256,
        perceptual_hash=scan.perceptual_hash,
        mime=scan.mime,
        kind="retroactive",
        retroactive=True,
    )


def _already_known(session, scan, entry_id: int) -> bool:
    if scan.action == "remove":
        return True  # taken down at upload already: nothing left to review
    live = (scan.signals.get("match") or {}).get("entry_id")
    if live is not None and str(live) == str(entry_id):
        return True
    # the case whose verdict banked the entry, or an earlier look back, already covers it
    known = or_(
        CaseRow.bank_entry_id == entry_id,
        and_(CaseRow.matched_entry_id == str(entry_id), CaseRow.kind == "retroactive"),
    )
    return session.scalar(select(CaseRow.id).where(CaseRow.scan_id == scan.id, known)) is not None


def _open_hits(session, job: RetroJobRow, ids: list[str], hits, codes: EntryCodes) -> int:
    opened = 0
    for row, entry_id, distance in hits:
        scan = get_scan(session, ids[row])
        if scan is None or _already_known(session, scan, entry_id):
            continue
        item = _retro_input(scan, entry_id, codes.meta[entry_id], distance)
        case = open_case(session, item, None)
        session.flush()
        payload = event_payload(case, bank_entry_id=str(entry_id), job_id=job.id)
        add_event(session, "retroactive.hit", payload)
        opened += 1
    return opened


def _window(job: RetroJobRow):
    cond = [
        ScanRecord.endpoint == "scan",
        ScanRecord.perceptual_hash.is_not(None),
        ScanRecord.created_at >= job.since,
        ScanRecord.created_at < job.until,
    ]
    return cond


def _after_cursor(job: RetroJobRow):
    if job.cursor_at is None:
        return []
    # a row-value comparison: both SQLite and PostgreSQL walk the (created_at, id) index
    # from the cursor, where the equivalent OR would rescan the window each chunk
    return [tuple_(ScanRecord.created_at, ScanRecord.id) > tuple_(job.cursor_at, job.cursor_id)]


_ID, _HEX = 32, 64


def _chunk(session, job: RetroJobRow, limit: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The next chunk of the window: scan ids, their PDQs as (n, 4) words, which parsed.

    One text column per row (id and PDQ joined in SQL) read straight off the
    DBAPI cursor, then parsed in one unhexlify: at a million rows, building
    Python objects is what costs, not the popcount.
    """
    query = (
        select(ScanRecord.id.concat(ScanRecord.perceptual_hash))
        .where(*_window(job), *_after_cursor(job))
        .order_by(ScanRecord.created_at, ScanRecord.id)
        .limit(limit)
    )
    rows = [r[0] for r in session.connection().execute(query).cursor.fetchall()]
    if not rows:
        return [], np.zeros((0, 4), np.uint64), np.zeros(0, bool)
    text = "".join(rows)
    width = _ID + _HEX
    if len(text) == width * len(rows) and text.isascii():
        table = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(-1, width)
        ids = [r[:_ID] for r in rows]
        try:
            raw = binascii.unhexlify(np.ascontiguousarray(table[:, _ID:]).tobytes())
            parsed = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _HEX // 2)
            return ids, pack_words(parsed), np.ones(len(rows), bool)
        except binascii.Error:
            pass  # a malformed hash somewhere: the row by row path masks it out
    # ids are 32 hex digits by construction, except rows written by other tools
    ids = [r[: len(r) - _HEX] if len(r) > _HEX else r for r in rows]
    parsed, ok = from_hex_column([r[-_HEX:] for r in rows])
    return ids, pack_words(parsed), ok


def _renew(session, job_id: int, owner: str, lease_s: float) -> bool:
    now = datetime.now(UTC)
    result = session.execute(
        update(RetroJobRow)
        .where(RetroJobRow.id == job_id, RetroJobRow.lease_owner == owner)
        .values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)
    )
    return result.rowcount == 1


def step(url: str, job_id: int, owner: str, config: RetroConfig) -> bool:
    """One chunk of a claimed job in one transaction; True when the job is finished (or lost)."""
    with session_scope(url) as session:
        if not _renew(session, job_id, owner, config.lease_s):
            return True  # another runner took it over after our lease ran out
        job = session.get(RetroJobRow, job_id)
        if job.total is None:
            # from the (created_at, id) index alone: the scans stored in the window, of
            # which label checks and undecodable uploads are then skipped
            job.total = session.scalar(
                select(func.count()).where(
                    ScanRecord.created_at >= job.since, ScanRecord.created_at < job.until
                )
            )
        codes = entry_codes(session, list(job.entry_ids))
        ids, words, ok = _chunk(session, job, config.chunk)
        if not ids:
            job.state, job.finished_at, job.lease_owner = "done", datetime.now(UTC), None
            return True
        hits = [h for h in match_words(words, codes, config.radius) if ok[h[0]]]
        job.hits += _open_hits(session, job, ids, hits, codes)
        job.scanned += len(ids)
        last = ids[-1]
        job.cursor_at = session.scalar(select(ScanRecord.created_at).where(ScanRecord.id == last))
        job.cursor_id = last
    return False


def claim(url: str, owner: str, lease_s: float) -> int | None:
    """The oldest job nobody holds (pending, or running with a lapsed lease), now ours."""
    now = datetime.now(UTC)
    free = or_(RetroJobRow.lease_until.is_(None), RetroJobRow.lease_until < now)
    with session_scope(url) as session:
        candidates = session.scalars(
            select(RetroJobRow.id)
            .where(RetroJobRow.state.in_(("pending", "running")), free)
            .order_by(RetroJobRow.id)
            .limit(5)
        ).all()
        for job_id in candidates:
            result = session.execute(
                update(RetroJobRow)
                .where(RetroJobRow.id == job_id, free)
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s),
                    updated_at=now,
                )
            )
            if result.rowcount == 1:
                return job_id
    return None


def run_pending(url: str, config: RetroConfig, stop: threading.Event | None = None) -> int:
    """Run jobs until none is free (or `stop` is set); how many jobs this call finished."""
    owner = f"retro-{uuid.uuid4().hex[:12]}"
    finished = 0
    while stop is None or not stop.is_set():
        job_id = claim(url, owner, config.lease_s)
        if job_id is None:
            return finished
        try:
            while not step(url, job_id, owner, config):
                if stop is not None and stop.is_set():
                    return finished
        except Exception as exc:  # a broken job must not stop the others
            log.exception("retroactive job %s failed", job_id)
            with session_scope(url) as session:
                session.execute(
                    update(RetroJobRow)
                    .where(RetroJobRow.id == job_id)
                    .values(state="failed", error=str(exc)[:2000], lease_owner=None)
                )
        finished += 1
    return finished


def start_thread(url: str, config: RetroConfig) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                run_pending(url, config, stop)
            except Exception:  # the database may be briefly away; try again next round
                log.exception("retroactive runner round failed")
            stop.wait(config.poll_s)

    thread = threading.Thread(target=loop, name="aigc-retro", daemon=True)
    thread.start()
    return thread, stop


def job_view(row: RetroJobRow) -> dict[str, Any]:
    def iso(value):
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()

    return {
        "id": row.id,
        "state": row.state,
        "origin": row.origin,
        # a big import names thousands of entries: the count, and the first ones
        "entries": len(row.entry_ids),
        "entry_ids": list(row.entry_ids)[:100],
        "since": iso(row.since),
        "until": iso(row.until),
        "scanned": row.scanned,
        "total": row.total,
        "hits": row.hits,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "finished_at": iso(row.finished_at),
        "error": row.error,
    }


def list_jobs(session, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    query = select(RetroJobRow).order_by(RetroJobRow.id.desc()).limit(limit)
    if state:
        query = query.where(RetroJobRow.state == state)
    return [job_view(r) for r in session.scalars(query).all()]
