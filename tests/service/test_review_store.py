"""The review loop's pieces on their own: priority, the negative bank's PDQ radius,
the creator count, and `aigc keys create` for the new roles."""

from __future__ import annotations

import os
import subprocess

from service.db import session_scope
from service.db.cases import AllowEntryRow
from service.db.keys import authenticate, list_keys
from service.review.cases import priority
from service.review.source import DatabaseReviewSource

from .servers import AIGC


def test_priority_ranks_known_fakes_on_elections_above_plain_ai():
    bank = [{"code": "bank.match.misleading_deepfake", "action": "escalate"}]
    topic = [{"code": "sensitive_topic.elections", "action": "escalate"}]
    repeat = [{"code": "creator.repeat_violations", "action": "escalate"}]
    high = {"match": {"matched": True, "severity": "high"}}
    ranked = [
        priority(bank, high, ("elections",), 4),
        priority(bank, high, (), 0),
        priority(topic, {}, ("elections",), 0),
        priority(repeat, {}, (), 1),
    ]
    assert ranked == sorted(ranked, reverse=True) and len(set(ranked)) == 4
    assert all(0 <= p <= 100 for p in ranked)
    assert priority(bank, high, ("a", "b", "c"), 99) == 95  # each part is capped
    confirmed = [{"code": "bank.confirmed_misleading", "action": "remove"}]
    assert priority(confirmed, high, ("a", "b"), 9) == 100


def test_the_negative_bank_clears_the_same_bytes_and_near_pdqs_only(svc_db_url):
    pdq = "f0" * 32
    with session_scope(svc_db_url) as session:
        session.add(AllowEntryRow(sha256="aa" * 32, pdq=pdq, reasons=["sensitive_topic.elections"]))
        session.add(AllowEntryRow(sha256="bb" * 32, pdq=None, reasons=["x.y"], active=False))
    source = DatabaseReviewSource(svc_db_url)
    assert source.cleared_reasons("aa" * 32, None) == {"sensitive_topic.elections"}
    near = "f1" + "f0" * 31  # one bit off
    assert source.cleared_reasons(None, near) == {"sensitive_topic.elections"}
    assert source.cleared_reasons(None, "0f" * 32) == frozenset()  # 256 bits off
    assert source.cleared_reasons("bb" * 32, None) == frozenset()  # inactive entry
    assert source.cleared_reasons(None, None) == frozenset()
    assert source.creator_violations("nobody") == 0


def _aigc(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIGC_DATABASE_URL": url}
    return subprocess.run([AIGC, *args], env=env, capture_output=True, text=True, timeout=60)


def test_keys_create_for_reviewers_and_fact_checkers(svc_db_url):
    made = _aigc(svc_db_url, "keys", "create", "--role", "reviewer", "--org", "Trust & Safety")
    assert made.returncode == 0, made.stderr
    info = authenticate(made.stdout.strip().splitlines()[-1], svc_db_url)
    assert (info.role, info.organisation) == ("reviewer", "Trust & Safety")
    partner = _aigc(
        svc_db_url, "keys", "create", "--role", "fact_checker", "--org", "dpa",
        "--topics", "Elections,health", "--languages", "de,nl",
    )  # fmt: skip
    assert partner.returncode == 0, partner.stderr
    info = authenticate(partner.stdout.strip().splitlines()[-1], svc_db_url)
    assert info.topics == ("elections", "health") and info.languages == ("de", "nl")
    unrouted = _aigc(svc_db_url, "keys", "create", "--role", "fact_checker")
    assert unrouted.returncode == 2 and "--topics" in unrouted.stderr
    assert {k.role for k in list_keys(svc_db_url)} == {"reviewer", "fact_checker"}
