"""Two reviewers at once: exactly one verdict wins, on SQLite and on PostgreSQL.

Real threads against the real database, released together by a barrier; the
store's conditional UPDATE is what decides, never a lock in Python.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from service.db import session_scope
from service.db.audit import AdminEvent
from service.db.bank import BankEntryRow
from service.db.cases import CaseRow
from service.db.outbox import OutboxRow
from service.review import verdicts
from service.review.cases import CaseInput, open_case
from service.review.errors import CaseConflict
from service.review.queue import Viewer

from .conftest import SAMPLES

RACERS = 8


def _open(url: str, media: bytes | None = None) -> str:
    decision = {
        "action": "escalate",
        "label": "ai_generated",
        "reasons": [{"code": "sensitive_topic.elections", "action": "escalate"}],
        "signals": {},
    }
    item = CaseInput(
        decision, {"creator_id": "c-1"}, None, "ab" * 32, None, "image/jpeg", ("elections",)
    )
    if media is not None:
        item = CaseInput(**{**item.__dict__, "media": media})
    with session_scope(url) as session:
        return open_case(session, item, None).id


def _race(fn, n: int = RACERS) -> tuple[list, list]:
    barrier = threading.Barrier(n)
    won, lost, failed = [], [], []

    def one(i: int) -> None:
        barrier.wait()
        try:
            won.append(fn(i))
        except CaseConflict as exc:
            lost.append(exc)
        except Exception as exc:  # anything else is a bug the test must show
            failed.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failed, failed
    return won, lost


def _count(url: str, query) -> int:
    with session_scope(url) as session:
        return int(session.scalar(query))


def test_concurrent_verdicts_exactly_one_wins(svc_db_url):
    url = svc_db_url
    media = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
    case_id = _open(url, media)

    def decide(i: int):
        viewer = Viewer(f"reviewer-{i}", "reviewer", organisation=f"org-{i}")
        return verdicts.decide(url, case_id, viewer, verdicts.Verdict("confirmed_misleading"))

    won, lost = _race(decide)
    assert len(won) == 1 and len(lost) == RACERS - 1
    # nothing of a losing verdict was written: one bank entry, one audit row, one event
    assert _count(url, select(func.count()).select_from(BankEntryRow)) == 1
    verdict_events = select(func.count()).where(AdminEvent.action == "case.verdict")
    assert _count(url, verdict_events) == 1
    assert _count(url, select(func.count()).where(OutboxRow.kind == "case.verdict")) == 1
    with session_scope(url) as session:
        row = session.get(CaseRow, case_id)
        assert row.decided_by == won[0]["decided_by"] and row.version == 2
        assert row.deciders == [row.decided_by]


def test_concurrent_claims_exactly_one_wins(svc_db_url):
    case_id = _open(svc_db_url)

    def claim(i: int):
        return verdicts.claim(svc_db_url, case_id, Viewer(f"reviewer-{i}", "reviewer"))

    won, lost = _race(claim)
    assert len(won) == 1 and len(lost) == RACERS - 1
    assert won[0]["status"] == "in_review"
    with session_scope(svc_db_url) as session:
        assert session.get(CaseRow, case_id).assignee == won[0]["assignee"]
