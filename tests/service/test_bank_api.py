"""Bank administration over HTTP and HMA's lookup, through the bank's store."""

from __future__ import annotations

import pytest

from service.db import session_scope
from service.db.audit import admin_events

bank_store = pytest.importorskip("service.bank", reason="the bank store is not installed")


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_bank_entries_add_list_lookup_match_and_remove(
    svc_client, svc_keys, svc_photo, svc_other_photo, svc_db_url
):
    admin = auth(svc_keys["admin"])
    note = "debunked fabricated rally photo, case 4471"
    added = svc_client.post(
        "/v1/bank/entries",
        headers=admin,
        files={"file": ("fake.jpg", svc_photo)},
        data={
            "category": "misleading_deepfake",
            "severity": "high",
            "note": note,
            "source": "fact_checker",
            "external_id": "afp-4471",
        },
    )
    assert added.status_code == 201, added.text
    entry = added.json()
    assert entry["category"] == "misleading_deepfake" and entry["active"] is True
    assert len(entry["pdq"]) == 64

    duplicate = svc_client.post(
        "/v1/bank/entries",
        headers=admin,
        files={"file": ("again.jpg", svc_photo)},
        data={"category": "misleading_deepfake"},
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_entry"

    # by hash, no media: the other photo's PDQ as the scan records it
    other_scan = svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), files={"file": ("o.jpg", svc_other_photo)}
    ).json()
    other_pdq = svc_client.get(
        f"/v1/scans/{other_scan['scan_id']}", headers=auth(svc_keys["analyst"])
    ).json()["perceptual_hash"]
    by_hash = svc_client.post(
        "/v1/bank/entries", headers=admin, data={"pdq": other_pdq, "category": "known_aigc"}
    )
    assert by_hash.status_code == 201, by_hash.text

    for bad in (
        {"data": {"category": "known_aigc"}},  # neither file nor hash
        {"data": {"pdq": "zz" * 32, "category": "known_aigc"}},
        {"data": {"pdq": other_pdq, "category": "Not A Category!"}},
    ):
        response = svc_client.post("/v1/bank/entries", headers=admin, **bad)
        assert response.status_code == 422, response.text
        assert set(response.json()["error"]) == {"code", "message"}
    for role in ("analyst", "pipeline", "creator"):
        response = svc_client.get("/v1/bank/entries", headers=auth(svc_keys[role]))
        assert response.status_code == 403

    listing = svc_client.get("/v1/bank/entries", headers=admin).json()
    assert listing["total"] == 2 and [e["id"] for e in listing["items"]][-1] == entry["id"]
    only = svc_client.get(
        "/v1/bank/entries", headers=admin, params={"category": "known_aigc"}
    ).json()
    assert only["total"] == 1 and only["items"][0]["category"] == "known_aigc"
    paged = svc_client.get(
        "/v1/bank/entries", headers=admin, params={"per_page": 1, "page": 2}
    ).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1
    assert paged["items"][0]["id"] == entry["id"]

    # HMA lookup: analysts and admins
    looked = svc_client.get(
        "/m/lookup",
        headers=auth(svc_keys["analyst"]),
        params={"signal_type": "pdq", "signal": entry["pdq"]},
    )
    assert looked.status_code == 200, looked.text
    assert looked.json()["misleading_deepfake"] == [
        {"bank_content_id": entry["id"], "distance": "0"}
    ]
    assert (
        svc_client.get(
            "/m/lookup",
            headers=auth(svc_keys["analyst"]),
            params={"signal_type": "pdq", "signal": "not-hex"},
        ).status_code
        == 422
    )
    assert (
        svc_client.get(
            "/m/lookup",
            headers=auth(svc_keys["creator"]),
            params={"signal_type": "pdq", "signal": entry["pdq"]},
        ).status_code
        == 403
    )

    # the upload pipeline sees the match; the creator never sees the entry
    scan = svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), files={"file": ("u.jpg", svc_photo)}
    ).json()
    match = scan["decision"]["signals"]["match"]
    assert match["matched"] is True and match["entry_id"] == str(entry["id"])
    assert scan["decision"]["action"] == "escalate"
    assert "bank.match.misleading_deepfake" in [r["code"] for r in scan["decision"]["reasons"]]
    check = svc_client.post(
        "/v1/label-check",
        headers=auth(svc_keys["creator"]),
        files={"file": ("u.jpg", svc_photo)},
    )
    assert check.status_code == 200, check.text
    answer = check.json()
    assert answer["under_review"] is True
    text = check.text
    for leak in (
        entry["pdq"],
        note,
        "4471",
        "afp",
        "fact_checker",
        "distance",
        "misleading_deepfake",
    ):
        assert leak not in text
    assert f'"{entry["id"]}"' not in text and f": {entry['id']}," not in text

    metrics = svc_client.get("/metrics", headers=admin).text
    assert "aigc_bank_entries 2.0" in metrics

    # soft delete: kept, listed as removed, no longer matched; audited with the key id
    removed = svc_client.delete(f"/v1/bank/entries/{entry['id']}", headers=admin)
    assert removed.status_code == 200 and removed.json()["active"] is False
    again = svc_client.delete(f"/v1/bank/entries/{entry['id']}", headers=admin)
    assert again.status_code == 404 and again.json()["error"]["code"] == "entry_not_found"
    gone = svc_client.get("/v1/bank/entries", headers=admin, params={"state": "removed"}).json()
    assert [e["id"] for e in gone["items"]] == [entry["id"]]
    rescan = svc_client.post(
        "/v1/scan", headers=auth(svc_keys["pipeline"]), files={"file": ("u.jpg", svc_photo)}
    ).json()
    assert rescan["decision"]["signals"]["match"]["matched"] is False
    with session_scope(svc_db_url) as session:
        # the escalated scan above opened a case (its own audit event); the bank's are these
        events = [
            (e.action, e.target, e.api_key_id)
            for e in admin_events(session)
            if e.action.startswith("bank.")
        ]
    admin_id = removed.json()["removed_by"]
    assert events == [
        ("bank.add", str(entry["id"]), admin_id),
        ("bank.add", str(by_hash.json()["id"]), admin_id),
        ("bank.remove", str(entry["id"]), admin_id),
    ]
