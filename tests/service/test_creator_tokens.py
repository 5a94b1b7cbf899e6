"""Creator tokens against the real app: minting roles, expiry, signatures, revoked keys,
the label check's creator id from the token, and a creator's own cases and appeal."""

from __future__ import annotations

import time

import pytest

from service.app import creator_tokens as tokens
from service.db import session_scope
from service.db.cases import CaseRow
from service.db.keys import revoke_key

SECRET = "test-creator-token-secret-0123456789abcdef"  # a test secret, named as such


@pytest.fixture
def client(svc_make_client):
    return svc_make_client(creator_token_secret=SECRET)


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _mint(client, key, creator="creator-7", **body):
    return client.post(
        "/v1/creator-tokens", json={"creator_id": creator, **body}, headers=_bearer(key)
    )


def _error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]["message"]


def test_pipeline_and_admin_mint_tokens_that_carry_creator_and_expiry(client, svc_keys):
    before = int(time.time())
    answer = _mint(client, svc_keys["pipeline"], ttl=120)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["creator_id"] == "creator-7" and body["ttl"] == 120
    claims = tokens.decode(SECRET.encode(), body["token"])
    assert claims.creator_id == "creator-7"
    assert before + 120 <= claims.expires_at <= int(time.time()) + 120
    assert _mint(client, svc_keys["admin"]).status_code == 201


@pytest.mark.parametrize("role", ["creator", "analyst", "partner"])
def test_other_roles_may_not_mint(client, svc_keys, role):
    _error(_mint(client, svc_keys[role]), 403, "forbidden")


def test_no_key_and_bad_bodies_are_refused_in_the_error_shape(client, svc_keys):
    no_key = client.post("/v1/creator-tokens", json={"creator_id": "c"})
    _error(no_key, 401, "unauthenticated")
    for body in ({"creator_id": "c", "ttl": 59}, {"creator_id": "c", "ttl": 86_401}, {}):
        answer = client.post("/v1/creator-tokens", json=body, headers=_bearer(svc_keys["pipeline"]))
        assert answer.status_code == 422 and "error" in answer.json()


def test_a_creator_token_may_not_mint_another(client, svc_keys):
    token = _mint(client, svc_keys["pipeline"]).json()["token"]
    _error(_mint(client, token), 403, "forbidden")


def test_without_a_secret_minting_answers_503_naming_the_setting(svc_make_client, svc_keys):
    bare = svc_make_client()
    message = _error(_mint(bare, svc_keys["pipeline"]), 503, "not_configured")
    assert "AIGC_CREATOR_TOKEN_SECRET" in message


def _check(client, credential, photo, **form):
    return client.post(
        "/v1/label-check",
        headers=_bearer(credential),
        files={"file": ("up.jpg", photo, "image/jpeg")},
        data=form,
    )


def test_expired_token_is_refused(client, svc_keys, svc_photo):
    key_id = _key_id(client, svc_keys["pipeline"])
    old = tokens.mint(SECRET.encode(), "creator-7", key_id, 60, now=time.time() - 61)
    assert "expired" in _error(_check(client, old, svc_photo), 401, "unauthenticated")


def test_bad_signature_and_garbage_are_refused(client, svc_keys, svc_photo):
    token = _mint(client, svc_keys["pipeline"]).json()["token"]
    body, signature = token.removeprefix("ct1.").split(".")
    forged = tokens.mint(b"another-secret-of-enough-bytes-0123456789", "creator-7", "x", 600)
    flipped = f"ct1.{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    for bad in (forged, flipped, "ct1.nonsense", "ct1.a.b"):
        _error(_check(client, bad, svc_photo), 401, "unauthenticated")


def _key_id(client, key) -> str:
    token = _mint(client, key).json()["token"]
    return tokens.decode(SECRET.encode(), token).key_id


def test_revoking_the_minting_key_stops_its_tokens(client, svc_keys, svc_db_url, svc_photo):
    token = _mint(client, svc_keys["pipeline"]).json()["token"]
    assert _check(client, token, svc_photo).status_code == 200
    revoke_key(tokens.decode(SECRET.encode(), token).key_id, url=svc_db_url)
    assert "revoked" in _error(_check(client, token, svc_photo), 401, "unauthenticated")


def test_label_check_takes_the_creator_id_from_the_token(client, svc_keys, svc_db_url, svc_photo):
    token = _mint(client, svc_keys["pipeline"], creator="creator-from-token").json()["token"]
    answer = _check(client, token, svc_photo, creator_id="someone-else")
    assert answer.status_code == 200, answer.text
    from service.db.audit import get_scan

    with session_scope(svc_db_url) as session:
        row = get_scan(session, answer.json()["check_id"])
        assert row.context["creator_id"] == "creator-from-token"


def test_a_token_may_not_call_other_roles_endpoints(client, svc_keys):
    token = _mint(client, svc_keys["pipeline"]).json()["token"]
    _error(client.get("/v1/keys", headers=_bearer(token)), 403, "forbidden")


def test_creator_lists_own_cases_and_appeals_a_decided_one(client, svc_keys, svc_db_url):
    from datetime import UTC, datetime

    def case(case_id, creator, status):
        return CaseRow(
            id=case_id,
            kind="upload",
            status=status,
            priority=50,
            reasons=[],
            signals={},
            context={"creator_id": creator},
            decision={"action": "escalate"},
            creator_id=creator,
            verdict="unverified" if status == "decided" else None,
            created_at=datetime.now(UTC),
        )

    with session_scope(svc_db_url) as session:
        session.add_all(
            [
                case("c" * 32, "creator-7", "decided"),
                case("d" * 32, "creator-7", "open"),
                case("e" * 32, "creator-8", "decided"),
            ]
        )
    token = _mint(client, svc_keys["pipeline"]).json()["token"]
    items = client.get("/v1/creator/cases", headers=_bearer(token)).json()["items"]
    assert {i["id"]: i["appealable"] for i in items} == {"c" * 32: True, "d" * 32: False}
    appeal = client.post(f"/v1/cases/{'c' * 32}/appeal", json={}, headers=_bearer(token))
    assert appeal.status_code == 200, appeal.text
    assert appeal.json()["status"] == "appealed"
    # another creator's case does not exist for this token
    other = client.post(f"/v1/cases/{'e' * 32}/appeal", json={}, headers=_bearer(token))
    _error(other, 404, "not_found")


def test_the_token_route_is_documented_with_the_error_shape(client):
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/v1/creator-tokens"]["post"]
    assert set(route["responses"]) >= {"201", "401", "403", "422", "503"}
    for status in ("401", "403", "503"):
        schema = route["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorBody")
    body = spec["components"]["schemas"]["CreatorTokenBody"]["properties"]["ttl"]
    assert (body["minimum"], body["maximum"]) == (60, 86_400)
