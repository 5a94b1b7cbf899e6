"""`aigc report transparency` over a real review loop: uploads, cases, verdicts, an
appeal that reversed, a retroactive hit and a quarantine, counted for the period."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from service.cli import app
from service.db import session_scope
from service.review.cases import CaseInput, open_case

from .test_review_loop import AI_IMAGE, ELECTION, _crop, _key, _scan


def _report(tmp_path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", "transparency", *args])
    return result.exit_code, result.output


def _stage_case(url: str, kind: str) -> None:
    decision = {"action": "escalate", "reasons": [], "signals": {}}
    with session_scope(url) as session:
        open_case(
            session,
            CaseInput(
                decision=decision,
                context={},
                scan_id=None,
                sha256=None,
                perceptual_hash=None,
                mime=None,
                kind=kind,
                retroactive=kind == "retroactive",
            ),
            None,
        )


def test_transparency_figures_of_a_review_loop(
    svc_client, svc_keys, svc_db_url, svc_other_photo, tmp_path
):
    client = svc_client
    reviewer = _key(svc_db_url, "reviewer", organisation="Trust & Safety")
    second = _key(svc_db_url, "reviewer", organisation="Trust & Safety")
    owner = _key(svc_db_url, "creator", creator_id="c-1")
    first = _scan(client, svc_keys, AI_IMAGE, ELECTION)
    case = first["case_id"]
    body = {"verdict": "confirmed_misleading"}
    assert client.post(f"/v1/cases/{case}/verdict", headers=reviewer, json=body).status_code == 200
    assert _scan(client, svc_keys, _crop(AI_IMAGE))["decision"]["action"] == "remove"
    _scan(client, svc_keys, svc_other_photo)
    assert client.post(f"/v1/cases/{case}/appeal", headers=owner).status_code == 200
    body = {"verdict": "cleared"}
    assert client.post(f"/v1/cases/{case}/verdict", headers=second, json=body).status_code == 200
    _stage_case(svc_db_url, "retroactive")
    _stage_case(svc_db_url, "quarantine")

    today = datetime.now(UTC).date().isoformat()
    out = tmp_path / "figures.json"
    code, output = _report(tmp_path, "--from", today, "--to", today, "--out", str(out))
    assert code == 0, output
    report = json.loads(out.read_text())
    uploads, opened, decided = report["uploads"], report["cases_opened"], report["cases_decided"]
    assert uploads["total"] == 3
    assert uploads["by_action"]["escalate"] == 1 and uploads["by_action"]["remove"] == 1
    assert uploads["by_label"]["ai_generated"] >= 1
    assert "bank.confirmed_misleading" in uploads["by_reason"]
    assert opened["by_kind"] == {"upload": 1, "retroactive": 1, "quarantine": 1}
    assert (opened["retroactive_hits"], opened["quarantines"]) == (1, 1)
    assert opened["by_topic"] == {"elections": 1}
    # one case, decided, appealed, decided again differently: one verdict, one reversal
    assert decided["by_verdict"] == {"cleared": 1}
    assert (decided["appeals"], decided["appeal_rate"]) == (1, 1.0)
    assert (decided["reversals"], decided["reversal_rate"]) == (1, 1.0)
    assert decided["time_to_verdict_s"]["p50"] >= 0

    page = tmp_path / "figures.html"
    code, _ = _report(tmp_path, "--from", today, "--to", today, "--out", str(page))
    html = page.read_text()
    assert code == 0 and "<svg" in html and "Uploads by action" in html
    assert "src=" not in html and "href=" not in html  # nothing to fetch
    assert "default-src 'none'" in html

    empty = tmp_path / "empty.json"
    code, _ = _report(tmp_path, "--from", "2020-01-01", "--to", "2020-01-31", "--out", str(empty))
    figures = json.loads(empty.read_text())
    assert code == 0 and figures["uploads"]["total"] == 0
    assert figures["cases_decided"]["time_to_verdict_s"] == {"p50": None, "p90": None}


def test_transparency_refuses_bad_arguments(svc_db_url, tmp_path):
    out = str(tmp_path / "r.json")
    assert _report(tmp_path, "--from", "2026-13-01", "--to", "2026-12-31", "--out", out)[0] == 2
    code, output = _report(tmp_path, "--from", "2026-12-02", "--to", "2026-12-01", "--out", out)
    assert code == 2 and "before" in output
    txt = str(tmp_path / "r.txt")
    assert _report(tmp_path, "--from", "2026-12-01", "--to", "2026-12-01", "--out", txt)[0] == 2
    missing = str(tmp_path / "no" / "such" / "dir" / "r.json")
    assert _report(tmp_path, "--from", "2026-12-01", "--to", "2026-12-01", "--out", missing)[0] == 2


def test_percentiles_are_nearest_rank():
    from service.reports.transparency import percentile

    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 50), percentile(values, 90)) == (5.0, 9.0)
