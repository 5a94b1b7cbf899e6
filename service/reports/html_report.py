"""A self-contained HTML report an analyst can work in: every file, filters, groups.

The page carries every row as JSON (`html_data.py`) and renders it with its
own inline script (`report.js`, `report.css` beside this module, inlined at
build time): a page of cards at a time, filters by action, label, reason
code, bank category, credentials state and near-duplicate group, search by
path, sort by severity, time or match distance, each card opening to its
evidence and manifest summary. A Content-Security-Policy allows only the
page's own script and style (by hash) and data: images, so it opens offline
and a hostile file name can make it load or run nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import IO, Any

from . import html_data
from .html_chart import bars_svg, reason_chart
from .html_data import SEVERITY, THUMB_BUDGET, THUMB_CHUNK, script_json

HERE = Path(__file__).resolve().parent
TITLES = {
    "remove": "Remove (confirmed misleading re-upload)",
    "escalate": "Escalate for review",
    "label": "Label as AI",
    "require_disclosure": "Require disclosure",
    "none": "No action",
    "error": "Could not be processed",
}

# bar colours per action (the transparency report's chart uses them too); the tags'
# own text and background pairs are in report.css, checked for WCAG AA contrast
COLORS = {
    "remove": "#4a0e0e",
    "escalate": "#b71c1c",
    "label": "#b26a00",
    "require_disclosure": "#6a1b9a",
    "none": "#2e7d32",
    "error": "#616161",
}


@lru_cache(maxsize=2)
def asset(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def content_security_policy(script: str, style: str) -> str:
    return (
        "default-src 'none'; img-src data:; "
        f"script-src '{_hash(script)}'; style-src '{_hash(style)}'; "
        "base-uri 'none'; form-action 'none'"
    )


def _summary_tables(data: html_data.ReportData, total: int) -> str:
    rows = "".join(
        f"<tr><td><span class='tag t-{name}'>{escape(name)}</span></td>"
        f"<td class='n'>{data.counts.get(name, 0)}</td></tr>"
        for name in SEVERITY
    )
    labels = "".join(
        f"<tr><td>{name}</td><td class='n'>{data.labels.get(name, 0)}</td></tr>"
        for name in ("ai_generated", "ai_edited")
    )
    unlabelled = total - sum(data.labels.values())
    return (
        "<table class='counts'><caption>Files per action</caption>"
        f"<tr><th scope='col'>action</th><th scope='col'>files</th></tr>{rows}</table>"
        "<table class='counts'><caption>Files per label</caption>"
        f"<tr><th scope='col'>label</th><th scope='col'>files</th></tr>{labels}"
        f"<tr><td>no label</td><td class='n'>{unlabelled}</td></tr></table>"
    )


def write_html(
    rows: Iterable[dict[str, Any]],
    out: IO[str],
    summary: dict[str, Any] | None = None,
    *,
    bank_entries: dict[str, dict[str, Any]] | None = None,
    thumb_budget: int = THUMB_BUDGET,
) -> None:
    """The report of `rows`; `bank_entries` (entry id -> note, source, ...) feeds the
    evidence of bank matches."""
    summary = summary or {}
    data = html_data.build(rows, bank_entries, thumb_budget)
    total = len(data.records)
    script, style = asset("report.js"), asset("report.css")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    job = escape(str(summary.get("id") or ""))
    source = escape(str(summary.get("input") or ""))
    meta = {
        "titles": TITLES,
        "severity": SEVERITY,
        "chunk": THUMB_CHUNK,
        "thumbsDropped": data.thumbs_dropped,
    }
    w = out.write
    w("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>")
    w("<meta name='viewport' content='width=device-width, initial-scale=1'>")
    w(
        "<meta http-equiv='Content-Security-Policy' "
        f'content="{content_security_policy(script, style)}">'
    )
    w(f"<title>Batch scan report {job}</title><style>{style}</style></head><body>")
    w(f"<header><h1>Batch scan report</h1><p class='meta'>job <code>{job}</code> · {source} · ")
    w(f"<span id='total'>{total}</span> files · made {when}</p></header>")
    w("<section class='summary' aria-label='Summary'>")
    w(_summary_tables(data, total))
    actions = [(n, data.counts.get(n, 0)) for n in SEVERITY]
    w(f"<figure>{bars_svg(actions, 'Files per action', left=150)}</figure>")
    w(f"<figure>{reason_chart(dict(data.reason_counts))}</figure></section>")
    w(asset("report_body.html"))
    w("<noscript><p>This report lists its files with JavaScript; the CSV and JSONL ")
    w("reports of the same job hold every row.</p></noscript>")
    for name, value in (
        ("meta", meta),
        ("reasons", data.reasons),
        ("groups", data.groups),
        ("rows", data.records),
    ):
        w(f"<script type='application/json' id='data-{name}'>{script_json(value)}</script>")
    w(f"<script>{script}</script>")
    # after the script: the first page renders before these are parsed
    for start in range(0, len(data.thumbs), THUMB_CHUNK):
        chunk = script_json(data.thumbs[start : start + THUMB_CHUNK])
        w(f"<script type='application/json' id='thumbs-{start // THUMB_CHUNK}'>{chunk}</script>")
    w("</body></html>\n")
