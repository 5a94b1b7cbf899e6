"""service.client against a real `aigc serve`: every call the README shows, typed
results, and the service's errors as exceptions with their code, message and status."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from service.client import (
    ApiError,
    BankEntry,
    Client,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    ScanResult,
    TransportError,
    Unauthenticated,
    UnsupportedMedia,
)
from service.db.keys import create_key
from service.db.migrations import ensure_schema

from .conftest import SAMPLES
from .servers import free_port, serve

AI = SAMPLES / "ai_generated_credentials.jpg"
PLAIN = SAMPLES / "no_credentials.jpg"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client")
    url = f"sqlite:///{folder / 'aigc.db'}"
    ensure_schema(url)
    keys = {role: create_key(role, url=url)[1] for role in ("admin", "pipeline", "creator")}
    settings = {
        "AIGC_DATABASE_URL": url,
        "AIGC_SCAN_CONCURRENCY": "1",
        "AIGC_LABEL_CHECK_LIMIT": "2",
        "AIGC_LABEL_CHECK_WINDOW_S": "600",
        "AIGC_BATCH_WORKERS": "1",
    }
    with serve(folder, **settings) as base:
        yield base, keys


def test_scan_and_the_stored_decision(live):
    base, keys = live
    with Client(base, keys["pipeline"]) as aigc:
        result = aigc.scan(AI, caption="look", hashtags=["ai", "art"], creator_disclosed_ai=False)
        assert isinstance(result, ScanResult)
        assert result.decision.action == "label" and result.decision.label == "ai_generated"
        assert "c2pa.ai_generated" in result.decision.reason_codes
        assert result.decision.reasons[0].message.startswith("Content Credentials (valid)")
        assert result.decision.policy_version and result.elapsed_ms > 0
        with open(PLAIN, "rb") as handle:  # a file object, named after its file
            plain = aigc.scan(handle)
        assert plain.decision.action == "none"
        assert plain.decision.media["mime"] == "image/jpeg"
    with Client(base, keys["admin"]) as admin:
        stored = admin.get_scan(result.scan_id)
        assert stored["scan_id"] == result.scan_id and stored["context"]["caption"] == "look"


def test_label_check_and_rate_limit(live):
    base, keys = live
    with Client(base, keys["creator"]) as creator:
        check = creator.label_check(AI.read_bytes(), filename="mine.jpg")
        assert check.will_label and check.label_text == "AI-generated"
        assert check.why and isinstance(check.why, tuple)
        creator.label_check(PLAIN)
        with pytest.raises(RateLimited) as exc:
            creator.label_check(PLAIN)
    assert exc.value.status == 429 and exc.value.code == "rate_limited"
    assert exc.value.retry_after and exc.value.retry_after > 0


def test_bank_add_list_remove_and_its_errors(live):
    base, keys = live
    with Client(base, keys["admin"]) as admin:
        entry = admin.bank_add(PLAIN, category="misleading_deepfake", severity="high", note="test")
        assert isinstance(entry, BankEntry) and entry.active and len(entry.pdq) == 64
        with pytest.raises(Conflict) as dup:
            admin.bank_add(PLAIN, category="misleading_deepfake")
        assert dup.value.code == "duplicate_entry" and str(entry.id) in dup.value.message
        page = admin.bank_list(category="misleading_deepfake")
        assert entry.id in [e.id for e in page.items] and page.total >= 1
        by_hash = admin.bank_add(pdq="f" * 64, category="debunked_fake")
        assert by_hash.pdq == "f" * 64
        removed = admin.bank_remove(entry.id)
        assert not removed.active
        with pytest.raises(NotFound) as missing:
            admin.bank_remove(2_000_000)
        assert missing.value.status == 404
        with pytest.raises(Invalid):
            admin.bank_add(PLAIN, category="Not A Category!")
    with Client(base, keys["pipeline"]) as pipeline, pytest.raises(Forbidden) as refused:
        pipeline.bank_list()
    assert refused.value.code == "forbidden" and "admin" in refused.value.message


def test_keys_create_list_revoke(live):
    base, keys = live
    with Client(base, keys["admin"]) as admin:
        new = admin.keys_create("analyst", note="client test")
        assert new.key and new.role == "analyst" and new.active
        assert new.id in [k.id for k in admin.keys_list()]
        revoked = admin.keys_revoke(new.id)
        assert not revoked.active
    with Client(base, new.key) as gone, pytest.raises(Unauthenticated) as exc:
        gone.batch_status("0" * 32)
    assert exc.value.code == "unauthenticated" and exc.value.message == "unknown or revoked API key"


def test_batch_of_an_archive(live):
    base, keys = live
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(AI, "a/ai.jpg")
        zf.write(PLAIN, "a/plain.jpg")
    with Client(base, keys["admin"]) as admin:
        job = admin.batch_start(archive.getvalue())
        finished = admin.batch_wait(job.id, timeout=300)
        assert finished.status == "done" and finished.done == 2 and finished.failed == 0
        assert finished.actions == {"label": 1, "none": 1}
        rows = [json.loads(line) for line in admin.batch_report(job.id, "jsonl").splitlines()]
        assert {r["action"] for r in rows} == {"label", "none"}
        with pytest.raises(NotFound) as exc:
            admin.batch_status("0" * 32)
        assert exc.value.code == "job_not_found"
        with pytest.raises(UnsupportedMedia) as bad:
            admin.batch_start(b"not an archive")
        assert bad.value.code == "not_an_archive"


def test_errors_carry_code_message_status_and_a_dead_server_is_a_transport_error(live):
    base, _keys = live
    with Client(base) as anonymous, pytest.raises(ApiError) as exc:
        anonymous.scan(PLAIN)
    assert isinstance(exc.value, Unauthenticated)
    assert (exc.value.status, exc.value.code) == (401, "unauthenticated")
    assert "API key is required" in exc.value.message
    nowhere = Client(f"http://127.0.0.1:{free_port()}", "x", timeout=5)
    with nowhere, pytest.raises(TransportError):
        nowhere.scan(PLAIN)
