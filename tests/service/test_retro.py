"""Retroactive matching on a real app and database: a bank entry added after the
upload opens a `retroactive` case and a `retroactive.hit` event; the job is a
table row that resumes from its cursor and reports its progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from service.bank.store import add_entry
from service.db import session_scope
from service.db.audit import add_scan
from service.db.cases import CaseRow
from service.db.outbox import OutboxRow
from service.db.retro import RetroJobRow
from service.review import retro


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _scan(client, keys, data: bytes, creator: str = "c-1") -> dict:
    response = client.post(
        "/v1/scan",
        headers=_auth(keys["pipeline"]),
        files={"file": ("up.jpg", data, "image/jpeg")},
        data={"creator_id": creator, "caption": "holiday"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _cases(url: str, kind: str = "retroactive") -> list[CaseRow]:
    with session_scope(url) as session:
        return list(session.scalars(select(CaseRow).where(CaseRow.kind == kind)))


def _events(url: str, kind: str) -> list[dict]:
    with session_scope(url) as session:
        return [r.payload for r in session.scalars(select(OutboxRow).where(OutboxRow.kind == kind))]


def test_a_new_bank_entry_opens_retroactive_cases_for_recent_uploads(
    svc_make_client, svc_keys, svc_db_url, svc_photo, svc_other_photo
):
    client = svc_make_client(retro_run=False)
    hit = _scan(client, svc_keys, svc_photo, creator="c-7")
    miss = _scan(client, svc_keys, svc_other_photo)
    assert hit["decision"]["action"] != "escalate" and hit["case_id"] is None

    entry = add_entry(
        svc_photo, filename="fake.jpg", category="misleading_deepfake", url=svc_db_url
    )
    jobs = client.get("/v1/admin/retro-jobs", headers=_auth(svc_keys["admin"])).json()["items"]
    assert [(j["state"], j["entry_ids"], j["origin"]) for j in jobs] == [
        ("pending", [entry.id], "add")
    ]

    assert retro.run_pending(svc_db_url, retro.RetroConfig()) == 1
    (case,) = _cases(svc_db_url)
    assert (case.scan_id, case.retroactive, case.matched_entry_id) == (
        hit["scan_id"],
        True,
        str(entry.id),
    )
    assert case.creator_id == "c-7" and case.status == "open"
    assert case.decision["action_at_upload"] == hit["decision"]["action"]
    (event,) = _events(svc_db_url, "retroactive.hit")
    assert event["scan_id"] == hit["scan_id"] and event["bank_entry_id"] == str(entry.id)

    # the reviewer sees it in the queue like any case; the scan now reads as under review
    reviewer = _auth(svc_keys["admin"])
    queue = client.get("/v1/cases", headers=reviewer).json()["items"]
    assert [(c["id"], c["retroactive"]) for c in queue] == [(case.id, True)]
    state = client.get(f"/v1/scans/{hit['scan_id']}", headers=_auth(svc_keys["analyst"])).json()
    assert state["current"]["distribution"] == "reduced"
    assert (
        client.get(f"/v1/scans/{miss['scan_id']}", headers=_auth(svc_keys["analyst"])).json()[
            "case"
        ]
        is None
    )

    (job,) = client.get("/v1/admin/retro-jobs", headers=reviewer).json()["items"]
    assert (job["state"], job["scanned"], job["total"], job["hits"]) == ("done", 2, 2, 1)
    # nothing is owed any more: running again opens nothing new
    assert retro.run_pending(svc_db_url, retro.RetroConfig()) == 0
    assert len(_cases(svc_db_url)) == 1


def _stored_scans(url: str, pdq: str, n: int, start: datetime) -> list[str]:
    ids = []
    with session_scope(url) as session:
        for i in range(n):
            row = add_scan(
                session,
                created_at=start + timedelta(seconds=i),
                endpoint="scan",
                sha256=f"{i:064x}",
                perceptual_hash=pdq,
                mime="image/jpeg",
                action="none",
                label=None,
                policy_version="test",
                signals={},
                decision={"action": "none", "reasons": [], "signals": {}},
                context={"creator_id": f"c-{i}"},
                api_key_id=None,
                elapsed_ms=1.0,
            )
            ids.append(row.id)
    return ids


def test_a_job_killed_mid_way_resumes_from_its_cursor_without_repeating(svc_db_url, svc_photo):
    entry = add_entry(svc_photo, filename="f.jpg", category="misleading_deepfake", url=svc_db_url)
    now = datetime.now(UTC)
    # stored before the entry: a job for it covers them; one too old to look back at
    inside = _stored_scans(svc_db_url, entry.pdq, 7, now - timedelta(days=2))
    _stored_scans(svc_db_url, entry.pdq, 1, now - timedelta(days=40))
    with session_scope(svc_db_url) as session:
        session.execute(update(RetroJobRow).values(until=now + timedelta(seconds=1)))

    config = retro.RetroConfig(chunk=3, lease_s=60)
    job_id = retro.claim(svc_db_url, "runner-a", config.lease_s)
    assert retro.step(svc_db_url, job_id, "runner-a", config) is False
    # runner-a dies here; its lease runs out and runner-b takes the job over
    with session_scope(svc_db_url) as session:
        job = session.get(RetroJobRow, job_id)
        assert (job.scanned, job.total, job.hits) == (3, 7, 3)
        job.lease_until = datetime.now(UTC) - timedelta(seconds=1)
    assert retro.claim(svc_db_url, "runner-b", config.lease_s) == job_id
    # the dead runner's late step is refused: the job is no longer its
    assert retro.step(svc_db_url, job_id, "runner-a", config) is True
    while not retro.step(svc_db_url, job_id, "runner-b", config):
        pass
    with session_scope(svc_db_url) as session:
        job = session.get(RetroJobRow, job_id)
        assert (job.state, job.scanned, job.hits) == ("done", 7, 7)
    assert sorted(c.scan_id for c in _cases(svc_db_url)) == sorted(inside)
    assert len(_events(svc_db_url, "retroactive.hit")) == 7


def test_retro_status_cli_reports_progress(svc_db_url, svc_photo):
    from typer.testing import CliRunner

    from service.cli import app

    add_entry(svc_photo, filename="f.jpg", category="misleading_deepfake", url=svc_db_url)
    runner = CliRunner()
    pending = runner.invoke(app, ["retro", "status"])
    assert pending.exit_code == 0 and "pending" in pending.output
    done = runner.invoke(app, ["retro", "run"])
    assert done.exit_code == 0 and "jobs finished=1" in done.output
    status = runner.invoke(app, ["retro", "status", "--json"])
    assert '"state": "done"' in status.output
    bad = runner.invoke(app, ["retro", "status", "--state", "sleeping"])
    assert bad.exit_code == 2


def test_many_entries_are_indexed_and_find_what_the_popcount_pass_finds():
    import numpy as np

    from matching.codes import pack_words

    rng = np.random.default_rng(3)
    entries = rng.integers(0, 256, size=(200, 32), dtype=np.uint8)
    scans = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    for row, entry in ((5, 0), (700, 17), (2999, 199), (1200, 17)):
        scans[row] = entries[entry]
        scans[row, :2] ^= rng.integers(0, 256, size=2, dtype=np.uint8)  # a few bits off
    codes = retro.EntryCodes(pack_words(entries), np.arange(1000, 1200, dtype=np.int64), meta={})
    words = pack_words(scans)
    indexed = retro.match_words(words, codes, 31, index_from=10)
    scanned = retro.match_words(words, codes, 31, index_from=10_000)
    assert indexed == scanned
    assert {(row, owner) for row, owner, _ in indexed} == {
        (5, 1000),
        (700, 1017),
        (1200, 1017),
        (2999, 1199),
    }
