"""Flood quarantine on two real `aigc serve` processes sharing one database: a confirmed
entry that suddenly matches far too often stops removing, becomes a case, and acts
again once a reviewer confirms it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import httpx
from PIL import Image
from sqlalchemy import select, update

from service.bank.store import add_entry, bump_version
from service.db import session_scope
from service.db.bank import BankEntryRow
from service.db.keys import create_key
from service.db.migrations import ensure_schema
from service.db.outbox import OutboxRow
from service.db.retro import BankMatchCountRow
from service.review import flood

from .conftest import SAMPLES
from .servers import serve

AI_IMAGE = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()


def _crop(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    out = io.BytesIO()
    img.crop((int(0.05 * w), int(0.05 * h), int(0.95 * w), int(0.95 * h))).save(out, "JPEG")
    return out.getvalue()


def _confirmed_entry(url: str, data: bytes, added_days_ago: float = 0) -> int:
    entry = add_entry(
        data, filename="fake.jpg", category="misleading_deepfake", severity="high", url=url
    )
    with session_scope(url) as session:
        session.execute(
            update(BankEntryRow)
            .where(BankEntryRow.id == entry.id)
            .values(
                confirmed_at=datetime.now(UTC),
                confirmed_by="review_team",
                added_at=datetime.now(UTC) - timedelta(days=added_days_ago),
            )
        )
        bump_version(session)
    return entry.id


def _scan(base: str, key: str, data: bytes) -> dict:
    response = httpx.post(
        base + "/v1/scan",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("meme.jpg", data, "image/jpeg")},
        data={"caption": "so true"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()["decision"]


def _codes(decision: dict) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


def test_a_flooding_entry_is_quarantined_across_servers_until_a_reviewer_confirms_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'aigc.db'}"
    ensure_schema(url)
    entry_id = _confirmed_entry(url, AI_IMAGE)
    pipeline = create_key("pipeline", url=url)[1]
    reviewer = {"Authorization": f"Bearer {create_key('reviewer', url=url)[1]}"}
    env = dict(
        AIGC_DATABASE_URL=url,
        AIGC_SCAN_CONCURRENCY="1",
        AIGC_FLOOD_MIN_MATCHES="4",
        AIGC_FLOOD_FACTOR="3",
        AIGC_RETRO_RUN="false",
    )
    meme = _crop(AI_IMAGE)
    with serve(tmp_path / "a", **env) as a, serve(tmp_path / "b", **env) as b:
        # 4 matches (the floor), alternating servers: each one still removes
        actions = [_scan(base, pipeline, meme)["action"] for base in (a, b, a, b)]
        assert actions == ["remove"] * 4
        # the 5th, on either server, passes the floor and 3x the (zero) usual rate
        tripping = _scan(a, pipeline, meme)
        assert tripping["action"] == "escalate" and flood.HELD in _codes(tripping)
        later = _scan(b, pipeline, meme)
        # escalated either way: by the policy once b's bank source saw the quarantine,
        # or, if b still decided from its older copy, by the route holding the removal
        assert later["action"] == "escalate"
        assert flood.HELD in _codes(later) or "bank.confirmed_misleading" not in _codes(later)

        with session_scope(url) as session:
            counted = session.scalars(select(BankMatchCountRow.matches)).all()
            events = session.scalars(
                select(OutboxRow.payload).where(OutboxRow.kind == "bank.quarantined")
            ).all()
        assert counted == [6]  # both servers added to one row
        assert len(events) == 1 and events[0]["bank_entry_id"] == str(entry_id)
        assert events[0]["matches_this_hour"] == 5

        queue = httpx.get(a + "/v1/cases?per_page=100", headers=reviewer).json()["items"]
        (case,) = [c for c in queue if c["kind"] == "quarantine"]
        shown = httpx.get(f"{a}/v1/cases/{case['id']}", headers=reviewer).json()
        assert shown["matched_entry"]["id"] == entry_id
        assert shown["matched_entry"]["quarantined"] is True
        assert "matched 5 uploads this hour" in shown["reasons"][0]["message"]

        decided = httpx.post(
            f"{b}/v1/cases/{case['id']}/verdict",
            headers=reviewer,
            json={"verdict": "confirmed_misleading", "note": "really a fake, not a meme"},
        )
        assert decided.status_code == 200, decided.text
        # a person looked: the entry removes again and is not quarantined a second time
        assert [_scan(base, pipeline, meme)["action"] for base in (a, b)] == ["remove"] * 2
        with session_scope(url) as session:
            row = session.get(BankEntryRow, entry_id)
            assert row.quarantined_at is None and row.quarantine_case_id == case["id"]


def test_an_entry_with_a_busy_history_is_not_quarantined_by_its_usual_rate(svc_db_url, svc_photo):
    entry_id = _confirmed_entry(svc_db_url, svc_photo, added_days_ago=3)
    config = flood.FloodConfig(factor=3, min_matches=4, baseline_hours=24)
    hour = int(datetime.now(UTC).timestamp() // 3600)
    with session_scope(svc_db_url) as session:
        for back in range(1, 25):  # 10 matches an hour for the last day
            session.add(BankMatchCountRow(entry_id=str(entry_id), hour=hour - back, matches=10))
    # 30 this hour is 3x the usual 10: not over it
    assert not any(flood.record_match(svc_db_url, str(entry_id), config) for _ in range(30))
    # the 31st is
    assert flood.record_match(svc_db_url, str(entry_id), config) is True
    with session_scope(svc_db_url) as session:
        row = session.get(BankEntryRow, entry_id)
        assert row.quarantined_at is not None and row.quarantine_case_id
    # a quarantined entry stays so; unknown and removed entries are never counted
    assert flood.record_match(svc_db_url, str(entry_id), config) is True
    assert flood.record_match(svc_db_url, "999999", config) is False
    assert flood.record_match(svc_db_url, "vpdq-7", config) is False
