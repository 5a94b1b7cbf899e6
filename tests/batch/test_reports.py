"""Report writers on result rows: order, escaping, offline HTML, progress output."""

from __future__ import annotations

import base64
import csv
import io
import json
import re

from service.batch.progress import BatchProgress
from service.reports.csv_report import write_csv
from service.reports.html_report import write_html

from .conftest import image_bytes


def _row(path, action, label=None, status="ok", code="x.y"):
    if status != "ok":
        return {"path": path, "status": status, "error_code": code, "error_message": "bad"}
    return {
        "path": path,
        "status": "ok",
        "action": action,
        "label": label,
        "reasons": [{"code": code, "message": f"because {path}"}],
        "signals": {"credentials": {"state": "trusted"}, "watermark": None, "match": None},
        "media": {"kind": "image", "mime": "image/jpeg", "width": 10, "height": 10},
        "thumbnail": image_bytes("coffee", size=32),
    }


ROWS = [
    _row("a_none.jpg", "none"),
    _row("b_label.jpg", "label", "ai_generated", code="c2pa.ai_generated"),
    _row("c_escalate.jpg", "escalate", code="bank.match.misleading_deepfake"),
    _row("d_broken.jpg", None, status="error", code="media_decode_error"),
    _row("e_disclose.jpg", "require_disclosure", code="metadata_hint"),
    _row("f_label.jpg", "label", "ai_edited"),
]


def _page_data(html: str, name: str):
    found = re.search(rf"<script type='application/json' id='data-{name}'>(.*?)</script>", html)
    assert found, name
    return json.loads(found.group(1))


def test_html_carries_every_row_with_reasons_counts_and_thumbnails():
    out = io.StringIO()
    write_html(ROWS, out, {"id": "job1", "input": "/data/case"})
    html = out.getvalue()
    rows = _page_data(html, "rows")
    reasons = _page_data(html, "reasons")
    by_path = {r["p"]: r for r in rows}
    assert set(by_path) == {r["path"] for r in ROWS}
    assert by_path["c_escalate.jpg"]["a"] == "escalate"
    assert by_path["d_broken.jpg"]["e"] == ["media_decode_error", "bad"]
    codes = {reasons[n][0] for n in by_path["c_escalate.jpg"]["r"]}
    assert codes == {"bank.match.misleading_deepfake"}
    assert by_path["b_label.jpg"]["c"]["st"] == "trusted"
    assert re.search(r"<td>ai_generated</td><td class='n'>1</td>", html)
    assert html.count("id='thumbs-0'") == 1
    assert len(json.loads(re.search(r"id='thumbs-0'>(.*?)</script>", html).group(1))) == 5
    assert "Files per reason code" in html  # the per-reason chart


def test_html_is_self_contained_and_a_hostile_name_cannot_leave_its_json():
    hostile = _row('</script><img src="http://evil/x.png" onerror=alert(1)>.jpg', "none")
    out = io.StringIO()
    write_html([hostile, *ROWS], out, {"id": "<b>", "input": "x"})
    html = out.getvalue()
    assert html.count("</script>") == html.count("<script")
    assert '<img src="http' not in html and "onerror=alert(1)>" not in html
    assert hostile["path"] in {r["p"] for r in _page_data(html, "rows")}
    assert not re.search(r"(src|href)=[\"']?(https?:|//)", html)
    csp = re.search(r'Content-Security-Policy\' content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src 'sha256-" in csp and "connect-src" not in csp


def test_html_thumbnail_budget_keeps_the_most_severe_previews():
    rows = [_row(f"{i:05d}.jpg", "none") for i in range(30)] + [_row("zz.jpg", "escalate")]
    one = len(base64.b64encode(rows[0]["thumbnail"]))
    out = io.StringIO()
    write_html(rows, out, {}, thumb_budget=one * 3)
    records = {r["p"]: r for r in _page_data(out.getvalue(), "rows")}
    assert records["zz.jpg"]["th"] >= 0  # the escalation keeps its preview
    assert sum(1 for r in records.values() if r.get("th", -1) >= 0) == 3
    assert len(records) == 31  # every file is in the page, preview or not


def test_csv_flattens_signals_and_defuses_formulas():
    rows = [*ROWS, _row('=HYPERLINK("http://x").jpg', "none"), _row("@sum.jpg", "none")]
    out = io.StringIO()
    write_csv(rows, out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    by_path = {r["path"]: r for r in table}
    assert by_path["b_label.jpg"]["reason_codes"] == "c2pa.ai_generated"
    assert by_path["b_label.jpg"]["credentials_state"] == "trusted"
    assert by_path["d_broken.jpg"]["error_code"] == "media_decode_error"
    assert '\'=HYPERLINK("http://x").jpg' in by_path
    assert "'@sum.jpg" in by_path


def test_plain_progress_prints_periodic_lines_with_counts():
    out = io.StringIO()
    progress = BatchProgress(out, plain=True, every=3600)
    progress("start", {"total": 4, "done": 1, "job": "j1"})
    for row in ROWS[:3]:
        progress("file", {"row": row})
    progress("end", {})
    lines = out.getvalue().splitlines()
    # the start and the end, nothing between: the interval had not passed
    assert len(lines) == 2
    assert lines[0].startswith("batch j1: 1/4 files (25%)")
    assert lines[1].startswith("batch j1: 4/4 files (100%)")
    assert lines[1].endswith("| escalate 1, label 1, none 1")
