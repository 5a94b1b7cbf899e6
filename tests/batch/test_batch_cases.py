"""An escalated file of a batch job opens a review case, in the same transaction as its row."""

from __future__ import annotations

from sqlalchemy import select

from service.batch.store import JobStore
from service.db import session_scope
from service.db.base import database_url
from service.db.cases import CaseRow
from service.db.outbox import OutboxRow

ESCALATED = {
    "path": "a/fake.jpg",
    "status": "ok",
    "action": "escalate",
    "label": "ai_generated",
    "reasons": [{"code": "bank.match.misleading_deepfake", "message": "m", "evidence": {}}],
    "signals": {"match": {"matched": True, "entry_id": "7", "severity": "high"}},
    "sha256": "ab" * 32,
    "seconds": 0.1,
}


def test_an_escalated_batch_file_opens_one_case(tmp_path):
    store = JobStore()
    job_id = store.create(str(tmp_path))
    assert store.record(job_id, ESCALATED) is True
    assert store.record(job_id, {"path": "a/ok.jpg", "status": "ok", "action": "none"})
    assert store.record(job_id, ESCALATED) is False  # recorded already: no second case
    with session_scope(database_url()) as session:
        cases = session.scalars(select(CaseRow)).all()
        kinds = session.scalars(select(OutboxRow.kind)).all()
    assert len(cases) == 1 and kinds == ["case.opened"]
    case = cases[0]
    assert case.context == {"source": "batch", "job_id": job_id, "path": "a/fake.jpg"}
    assert case.status == "open" and case.matched_entry_id == "7"
    assert case.priority == 60  # a bank match (40) of an entry of severity high (+20)
