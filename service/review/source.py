"""What the labeler reads of the review loop: the service's `labeler.stores.ReviewSource`.

Two questions per upload at most: how many confirmed violations the creator
has (only when the pipeline did not say), and, only when the decision would
escalate, which reasons a reviewer already cleared for this media.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.exc import OperationalError, ProgrammingError

import matching

from ..db.base import get_engine
from ..db.cases import AllowEntryRow, CaseRow

# what counts against a creator: a person confirmed the upload as misleading
VIOLATION_VERDICTS = ("confirmed_misleading",)


class DatabaseReviewSource:
    def __init__(self, url: str, radius: int = matching.MatchConfig().radius) -> None:
        self.url = url
        self.radius = radius

    def creator_violations(self, creator_id: str) -> int:
        query = select(func.count()).where(
            CaseRow.creator_id == creator_id, CaseRow.verdict.in_(VIOLATION_VERDICTS)
        )
        try:
            with get_engine(self.url).connect() as conn:
                return int(conn.scalar(query) or 0)
        except (OperationalError, ProgrammingError):
            return 0  # a database from before the review loop: nothing confirmed yet

    def cleared_reasons(self, sha256: str | None, pdq_hex: str | None) -> frozenset[str]:
        if not sha256 and not pdq_hex:
            return frozenset()
        c = AllowEntryRow
        wanted = [c.sha256 == sha256] if sha256 else []
        if pdq_hex:
            wanted.append(c.pdq.is_not(None))
        query = select(c.sha256, c.pdq, c.reasons).where(c.active.is_(True), or_(*wanted))
        try:
            with get_engine(self.url).connect() as conn:
                rows = conn.execute(query).all()
        except (OperationalError, ProgrammingError):
            return frozenset()
        probe = _pdq(pdq_hex)
        codes: set[str] = set()
        for entry_sha, entry_pdq, reasons in rows:
            same = sha256 is not None and entry_sha == sha256
            near = probe is not None and (other := _pdq(entry_pdq)) is not None
            if same or (near and matching.hamming(probe, other) <= self.radius):
                codes.update(reasons or ())
        return frozenset(codes)


def _pdq(text: str | None) -> bytes | None:
    try:
        return bytes.fromhex(text) if text and len(text) == 64 else None
    except ValueError:
        return None
