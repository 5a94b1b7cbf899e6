"""The review loop over HTTP on a real app and database: escalation -> case ->
verdict -> bank -> re-uploads removed; routing, appeals, the negative bank."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from service.db import session_scope
from service.db.bank import BankEntryRow
from service.db.keys import create_key
from service.db.outbox import OutboxRow

from .conftest import SAMPLES

AI_IMAGE = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
ELECTION = {"caption": "Queues at the polling station before the election", "creator_id": "c-1"}


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _key(url: str, role: str, **kw) -> dict[str, str]:
    return _auth(create_key(role, url=url, **kw)[1])


def _scan(client, keys, data: bytes, context: dict | None = None, name: str = "up.jpg") -> dict:
    response = client.post(
        "/v1/scan",
        headers=_auth(keys["pipeline"]),
        files={"file": (name, data, "image/jpeg")},
        data=context or {},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _crop(data: bytes, box=(0.06, 0.05, 0.95, 0.93)) -> bytes:
    """A re-upload: cropped and re-encoded, so the credentials are gone."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    cut = img.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    out = io.BytesIO()
    cut.save(out, "JPEG", quality=85)
    return out.getvalue()


def _events(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(OutboxRow.kind).order_by(OutboxRow.id)))


@pytest.fixture
def loop(svc_client, svc_keys, svc_db_url):
    reviewer = _key(svc_db_url, "reviewer", organisation="Trust & Safety")
    return svc_client, svc_keys, svc_db_url, reviewer


def test_escalation_opens_a_case_and_a_confirmed_verdict_removes_re_uploads(loop):
    client, keys, url, reviewer = loop
    first = _scan(client, keys, AI_IMAGE, ELECTION)
    assert first["decision"]["action"] == "escalate"
    assert first["decision"]["distribution"] == "reduced"
    case_id = first["case_id"]
    assert case_id

    queue = client.get("/v1/cases", headers=reviewer).json()
    assert [c["id"] for c in queue["items"]] == [case_id]
    assert queue["items"][0]["topics"] == ["elections"]
    case = client.get(f"/v1/cases/{case_id}", headers=reviewer).json()
    assert case["status"] == "open" and case["creator_id"] == "c-1"
    thumb = client.get(f"/v1/cases/{case_id}/thumbnail", headers=reviewer)
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 256

    state = client.get(f"/v1/scans/{first['scan_id']}", headers=_auth(keys["analyst"])).json()
    assert state["case"]["status"] == "open"
    assert state["current"] == {
        "action": "escalate",
        "label": "ai_generated",
        "distribution": "reduced",
        "notice": None,
    }

    assert client.post(f"/v1/cases/{case_id}/claim", headers=reviewer).json()["status"] == (
        "in_review"
    )
    body = {
        "verdict": "confirmed_misleading",
        "note": "fabricated queue scene",
        "fact_check_url": "https://factcheck.example/queue",
    }
    decided = client.post(f"/v1/cases/{case_id}/verdict", headers=reviewer, json=body).json()
    assert decided["status"] == "decided" and decided["bank_entry_id"]
    with session_scope(url) as session:
        entry = session.get(BankEntryRow, decided["bank_entry_id"])
        assert (entry.category, entry.severity, entry.source) == (
            "misleading_deepfake",
            "high",
            "Trust & Safety",
        )
        assert entry.confirmed_at is not None
        assert entry.reference_url == "https://factcheck.example/queue"
        assert entry.note == "fabricated queue scene"

    state = client.get(f"/v1/scans/{first['scan_id']}", headers=_auth(keys["analyst"])).json()
    assert state["decision"]["action"] == "escalate"  # as made, never rewritten
    assert state["current"]["action"] == "remove"
    assert state["current"]["distribution"] == "removed"

    again = _scan(client, keys, _crop(AI_IMAGE), {"caption": "look at this"})
    assert again["decision"]["action"] == "remove"
    assert again["case_id"] is None
    assert "bank.confirmed_misleading" in [r["code"] for r in again["decision"]["reasons"]]
    check = client.post(
        "/v1/label-check",
        headers=_auth(keys["creator"]),
        files={"file": ("up.jpg", _crop(AI_IMAGE), "image/jpeg")},
    ).json()
    assert check["removed"] is True and "entry" not in check["text"]

    assert _events(url) == ["case.opened", "case.verdict", "upload.removed"]


def test_a_decided_case_refuses_another_verdict_and_unknown_verdicts_list_the_allowed(loop):
    client, keys, _url, reviewer = loop
    case_id = _scan(client, keys, AI_IMAGE, ELECTION)["case_id"]
    bad = client.post(f"/v1/cases/{case_id}/verdict", headers=reviewer, json={"verdict": "fake"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_verdict"
    for allowed in ("confirmed_misleading", "unverified", "ai_label_only", "cleared"):
        assert allowed in bad.json()["error"]["message"]
    ok = client.post(
        f"/v1/cases/{case_id}/verdict", headers=reviewer, json={"verdict": "unverified"}
    )
    assert ok.status_code == 200
    again = client.post(
        f"/v1/cases/{case_id}/verdict", headers=reviewer, json={"verdict": "cleared"}
    )
    assert again.status_code == 409
    assert set(again.json()) == {"error"} and again.json()["error"]["code"] == "conflict"
    assert client.post(f"/v1/cases/{case_id}/claim", headers=reviewer).status_code == 409
    missing = client.get("/v1/cases/" + "0" * 32, headers=reviewer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/v1/cases", headers=_auth(keys["pipeline"])).status_code == 403
    assert client.get("/v1/cases?status=nope", headers=reviewer).status_code == 422


def test_unverified_labels_and_reduces_ai_label_only_restores_distribution(loop):
    client, keys, _url, reviewer = loop
    analyst = _auth(keys["analyst"])
    for verdict, expected in (
        ("unverified", ("label", "reduced", "unverified_claim")),
        ("ai_label_only", ("label", "normal", None)),
    ):
        scan = _scan(client, keys, AI_IMAGE, ELECTION)
        url = f"/v1/cases/{scan['case_id']}/verdict"
        assert client.post(url, headers=reviewer, json={"verdict": verdict}).status_code == 200
        current = client.get(f"/v1/scans/{scan['scan_id']}", headers=analyst).json()["current"]
        assert (current["action"], current["distribution"], current["notice"]) == expected
        assert current["label"] == "ai_generated"


def test_fact_checkers_see_only_cases_routed_to_them_and_no_creator_data(loop):
    client, keys, url, _reviewer = loop
    case_id = _scan(client, keys, AI_IMAGE, ELECTION)["case_id"]
    elections = _key(url, "fact_checker", organisation="dpa", topics="elections", languages="de")
    health = _key(url, "fact_checker", organisation="other", topics="public_health")

    items = client.get("/v1/cases", headers=elections).json()["items"]
    assert [c["id"] for c in items] == [case_id] and "creator_id" not in items[0]
    view = client.get(f"/v1/cases/{case_id}", headers=elections).json()
    assert "creator_id" not in view
    assert "creator_id" not in view["context"] and "creator_history" not in view["context"]
    assert view["context"]["caption"] == ELECTION["caption"]

    assert client.get("/v1/cases", headers=health).json()["items"] == []
    for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/thumbnail"):
        hidden = client.get(path, headers=health)
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    refused = client.post(
        f"/v1/cases/{case_id}/verdict", headers=health, json={"verdict": "cleared"}
    )
    assert refused.status_code == 404

    decided = client.post(
        f"/v1/cases/{case_id}/verdict", headers=elections, json={"verdict": "confirmed_misleading"}
    ).json()
    with session_scope(url) as session:
        assert session.get(BankEntryRow, decided["bank_entry_id"]).source == "dpa"


def test_appeals_come_from_the_uploads_creator_and_need_another_reviewer(loop):
    client, keys, url, reviewer = loop
    other_reviewer = _key(url, "reviewer", organisation="Trust & Safety")
    owner = _key(url, "creator", creator_id="c-1")
    stranger = _key(url, "creator", creator_id="c-2")
    scan = _scan(client, keys, AI_IMAGE, ELECTION)
    case_id = scan["case_id"]
    early = client.post(f"/v1/cases/{case_id}/appeal", headers=owner)
    assert early.status_code == 409  # nothing decided yet
    decided = client.post(
        f"/v1/cases/{case_id}/verdict", headers=reviewer, json={"verdict": "confirmed_misleading"}
    ).json()

    assert client.post(f"/v1/cases/{case_id}/appeal", headers=stranger).status_code == 404
    appealed = client.post(f"/v1/cases/{case_id}/appeal", headers=owner, json={"reason": "mine"})
    assert appealed.status_code == 200 and appealed.json()["status"] == "appealed"
    assert appealed.json()["reasons"] == [] and appealed.json()["signals"] == {}
    assert client.post(f"/v1/cases/{case_id}/appeal", headers=owner).status_code == 409

    same = client.post(
        f"/v1/cases/{case_id}/verdict", headers=reviewer, json={"verdict": "cleared"}
    )
    assert same.status_code == 409
    reversed_ = client.post(
        f"/v1/cases/{case_id}/verdict", headers=other_reviewer, json={"verdict": "cleared"}
    )
    assert reversed_.status_code == 200 and reversed_.json()["verdict"] == "cleared"
    with session_scope(url) as session:
        assert session.get(BankEntryRow, decided["bank_entry_id"]).active is False
    # the reversal took the entry out: the crop is no longer removed
    assert _scan(client, keys, _crop(AI_IMAGE))["decision"]["action"] != "remove"


def test_a_cleared_case_lets_the_same_media_through_for_that_reason(loop, svc_other_photo):
    client, keys, url, reviewer = loop
    from service.bank.store import add_entry

    # any entry: with a bank the match signal hashes each upload, so near copies are known
    add_entry(svc_other_photo, category="known_aigc", url=url)
    scan = _scan(client, keys, AI_IMAGE, ELECTION)
    client.post(
        f"/v1/cases/{scan['case_id']}/verdict", headers=reviewer, json={"verdict": "cleared"}
    )
    again = _scan(client, keys, AI_IMAGE, ELECTION)
    assert again["decision"]["action"] == "label"  # the credentials' label stays
    assert again["case_id"] is None
    assert "review.cleared" in [r["code"] for r in again["decision"]["reasons"]]
    # a re-encode (other bytes, a PDQ within the radius) is the same media; credentials
    # gone, it is not even AI by evidence any more, so it is not escalated either way
    reencoded = _crop(AI_IMAGE, (0, 0, 1, 1))
    assert _scan(client, keys, reencoded, ELECTION)["decision"]["action"] != "escalate"
    # another AI picture on the same topic still escalates
    png = (SAMPLES / "ai_generated_credentials.png").read_bytes()
    assert _scan(client, keys, png, ELECTION, name="up.png")["decision"]["action"] == "escalate"


def _confirmed_case(url: str, creator_id: str) -> None:
    """A case of `creator_id` a reviewer confirmed, written as the service writes it."""
    from sqlalchemy import update

    from service.db.cases import CaseRow
    from service.review.cases import CaseInput, open_case

    decision = {"action": "escalate", "reasons": [], "signals": {}}
    item = CaseInput(decision, {"creator_id": creator_id}, None, None, None, "image/jpeg")
    with session_scope(url) as session:
        case_id = open_case(session, item, None).id
        session.execute(
            update(CaseRow)
            .where(CaseRow.id == case_id)
            .values(status="decided", waiting=False, verdict="confirmed_misleading")
        )


def test_confirmed_verdicts_become_the_creators_history(loop):
    client, keys, url, _reviewer = loop
    png = (SAMPLES / "ai_generated_credentials.png").read_bytes()
    plain = {"creator_id": "c-7", "creator_disclosed_ai": "false"}
    first = _scan(client, keys, png, plain, name="up.png")["decision"]
    assert first["action"] == "label"
    # three confirmed violations (the default policy's repeat_violations threshold)
    for _ in range(3):
        _confirmed_case(url, "c-7")
    _confirmed_case(url, "c-8")
    decided = _scan(client, keys, png, plain, name="up.png")["decision"]
    codes = [r["code"] for r in decided["reasons"]]
    assert decided["action"] == "escalate" and "creator.repeat_violations" in codes
    # the pipeline's own count wins when it sends one
    told = _scan(client, keys, png, {**plain, "creator_history": "0"}, name="up.png")["decision"]
    assert "creator.repeat_violations" not in [r["code"] for r in told["reasons"]]


def test_the_queue_pages_by_priority_and_bounds_its_count(loop, monkeypatch):
    from service.review import queue

    client, keys, url, reviewer = loop
    for _ in range(3):
        _confirmed_case(url, "c-3")  # decided: not in the waiting queue
    opened = [_scan(client, keys, AI_IMAGE, ELECTION)["case_id"] for _ in range(3)]
    page = client.get("/v1/cases", headers=reviewer, params={"per_page": 2}).json()
    assert (page["total"], page["total_capped"], len(page["items"])) == (3, False, 2)
    second = client.get("/v1/cases", headers=reviewer, params={"per_page": 2, "page": 2}).json()
    assert [
        c["id"] for c in page["items"] + second["items"]
    ] == opened  # equal priority: oldest first
    decided = client.get("/v1/cases", headers=reviewer, params={"status": "decided"}).json()
    assert decided["total"] == 3
    assert client.get("/v1/cases", headers=reviewer, params={"priority": 100}).json()["total"] == 0
    monkeypatch.setattr(queue, "COUNT_LIMIT", 2)
    capped = client.get("/v1/cases", headers=reviewer, params={"topic": "elections"}).json()
    assert (capped["total"], capped["total_capped"], capped["total_limit"]) == (2, True, 2)
