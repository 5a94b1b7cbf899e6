"""Report writers on result rows: order, escaping, offline HTML, progress output."""

from __future__ import annotations

import csv
import io
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


def test_html_groups_escalations_first_with_reasons_and_counts():
    out = io.StringIO()
    write_html(ROWS, out, {"id": "job1", "input": "/data/case"})
    html = out.getvalue()
    headings = re.findall(r"<h2 id='(\w+)'", html)
    assert headings == ["escalate", "label", "require_disclosure", "none", "error"]
    assert html.index("c_escalate.jpg") < html.index("b_label.jpg") < html.index("a_none.jpg")
    assert "bank.match.misleading_deepfake" in html and "because c_escalate.jpg" in html
    assert "Label as AI (2)" in html
    assert re.search(r"<td>ai_generated</td><td class='n'>1</td>", html)
    assert re.search(r"<td>ai_edited</td><td class='n'>1</td>", html)
    assert html.count("data:image/jpeg;base64,") == 5  # the broken file has none


def test_html_is_self_contained_and_escapes_hostile_names():
    hostile = _row('<img src="http://evil/x.png" onerror=alert(1)>.jpg', "none")
    out = io.StringIO()
    write_html([hostile, *ROWS], out, {"id": "<b>", "input": "x"})
    html = out.getvalue()
    assert '<img src="http' not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=&quot;http://evil/x.png&quot;" in html
    # nothing is fetched: no external src/href, and the policy forbids it anyway
    assert not re.search(r"(src|href)=[\"']?(https?:|//)", html)
    assert "default-src 'none'" in html and "<script" not in html


def test_html_caps_cards_per_group_for_huge_jobs():
    rows = [_row(f"{i:05d}.jpg", "none") for i in range(30)]
    out = io.StringIO()
    write_html(rows, out, {}, per_group=10)
    html = out.getvalue()
    assert html.count('class="card"') == 10
    assert "20 more: see the CSV or JSONL report." in html
    assert "No action (30)" in html


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
