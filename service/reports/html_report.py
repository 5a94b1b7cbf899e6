"""A self-contained HTML report: counts, a chart, thumbnails grouped by action.

Everything is inline (CSS, an SVG chart, base64 JPEG thumbnails) and a
Content-Security-Policy forbids any fetch, so the page opens offline and a
hostile file name cannot make it load anything. Escalations come first, since
they are what an analyst reviews. A job of millions keeps at most
`per_group` cards per action; the CSV and JSONL reports have every row.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from typing import IO, Any

GROUPS = ("remove", "escalate", "label", "require_disclosure", "none", "error")
TITLES = {
    "remove": "Remove (confirmed misleading re-upload)",
    "escalate": "Escalate for review",
    "label": "Label as AI",
    "require_disclosure": "Require disclosure",
    "none": "No action",
    "error": "Could not be processed",
}
COLORS = {
    "remove": "#4a0e0e",
    "escalate": "#c62828",
    "label": "#f9a825",
    "require_disclosure": "#8e24aa",
    "none": "#2e7d32",
    "error": "#616161",
}
PER_GROUP = 500

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;
border-bottom:3px solid var(--c)}
.meta{color:#666;font-size:13px}
.summary{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start;margin-top:16px}
table.counts{border-collapse:collapse;font-size:14px}
table.counts td,table.counts th{padding:3px 10px;text-align:left;border-bottom:1px solid #ddd}
table.counts td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
.card{display:flex;gap:10px;background:#fff;border:1px solid #ddd;border-left:5px solid var(--c);
border-radius:4px;padding:8px}
.thumb{width:160px;height:160px;flex:none;display:flex;align-items:center;justify-content:center;
background:#eee;color:#888;font-size:12px}
.thumb img{max-width:160px;max-height:160px}
.info{font-size:13px;overflow-wrap:anywhere;min-width:0}
.path{font-weight:600;margin-bottom:4px}
.tag{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;background:var(--c);
font-size:12px;margin-right:4px}
ul.reasons{margin:4px 0 0;padding-left:16px}ul.reasons li{margin-bottom:2px}
code{font-size:12px;color:#555}
.more{color:#666;font-style:italic;margin-top:6px}
"""


def _group(row: dict[str, Any]) -> str:
    if row.get("status") != "ok":
        return "error"
    return row.get("action") if row.get("action") in GROUPS else "none"


def chart_svg(counts: dict[str, int]) -> str:
    """A horizontal bar chart of decisions as inline SVG."""
    width, bar_h, gap, left = 520, 22, 8, 190
    peak = max(counts.values(), default=0) or 1
    height = len(GROUPS) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="Decisions per action">'
    ]
    for i, name in enumerate(GROUPS):
        n = counts.get(name, 0)
        y = gap + i * (bar_h + gap)
        w = int((width - left - 60) * n / peak)
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h * 0.7:.0f}" text-anchor="end" '
            f'font-size="13">{escape(TITLES[name])}</text>'
            f'<rect x="{left}" y="{y}" width="{max(w, 1 if n else 0)}" height="{bar_h}" '
            f'fill="{COLORS[name]}"><title>{escape(name)}: {n}</title></rect>'
            f'<text x="{left + w + 6}" y="{y + bar_h * 0.7:.0f}" font-size="13">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _card(row: dict[str, Any], group: str) -> str:
    thumb = row.get("thumbnail")
    if thumb:
        data = base64.b64encode(thumb).decode("ascii")
        img = f'<img alt="" src="data:image/jpeg;base64,{data}">'
    else:
        kind = (row.get("media") or {}).get("kind") or "no preview"
        img = escape(kind)
    tags = []
    if row.get("action"):
        tags.append(f'<span class="tag">{escape(row["action"])}</span>')
    if row.get("label"):
        tags.append(f'<span class="tag" style="--c:#455a64">{escape(row["label"])}</span>')
    if group == "error":
        items = [
            f"<li><code>{escape(row.get('error_code') or 'error')}</code> "
            f"{escape(row.get('error_message') or '')}</li>"
        ]
    else:
        items = [
            f"<li><code>{escape(r.get('code', ''))}</code> {escape(r.get('message', ''))}</li>"
            for r in row.get("reasons") or []
        ]
    return (
        f'<div class="card" style="--c:{COLORS[group]}"><div class="thumb">{img}</div>'
        f'<div class="info"><div class="path">{escape(row["path"])}</div>{"".join(tags)}'
        f'<ul class="reasons">{"".join(items)}</ul></div></div>'
    )


def write_html(
    rows: Iterable[dict[str, Any]],
    out: IO[str],
    summary: dict[str, Any] | None = None,
    per_group: int = PER_GROUP,
) -> None:
    summary = summary or {}
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    counts: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for row in rows:
        group = _group(row)
        counts[group] += 1
        if row.get("label"):
            labels[row["label"]] += 1
        if group == "error":
            errors[row.get("error_code") or "error"] += 1
        if len(groups[group]) < per_group:
            groups[group].append(_card(row, group))
    total = sum(counts.values())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    job = escape(str(summary.get("id") or ""))
    source = escape(str(summary.get("input") or ""))

    w = out.write
    w("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>")
    w(
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
    )
    w(f"<title>Batch scan report {job}</title><style>{_CSS}</style></head><body>")
    w(f"<h1>Batch scan report</h1><div class='meta'>job <code>{job}</code> · {source} · ")
    w(f"{total} files · made {when}</div>")
    w("<div class='summary'><table class='counts'><tr><th>action</th><th>files</th></tr>")
    for name in GROUPS:
        w(
            f"<tr><td><span class='tag' style='--c:{COLORS[name]}'>{escape(name)}</span></td>"
            f"<td class='n'>{counts.get(name, 0)}</td></tr>"
        )
    w("</table><table class='counts'><tr><th>label</th><th>files</th></tr>")
    for name in ("ai_generated", "ai_edited"):
        w(f"<tr><td>{name}</td><td class='n'>{labels.get(name, 0)}</td></tr>")
    w(f"<tr><td>no label</td><td class='n'>{total - sum(labels.values())}</td></tr></table>")
    if errors:
        w("<table class='counts'><tr><th>error</th><th>files</th></tr>")
        for code, n in errors.most_common():
            w(f"<tr><td><code>{escape(code)}</code></td><td class='n'>{n}</td></tr>")
        w("</table>")
    w(f"<div>{chart_svg(dict(counts))}</div></div>")
    for name in GROUPS:
        if not counts.get(name):
            continue
        w(
            f"<h2 id='{name}' style='--c:{COLORS[name]}'>"
            f"{escape(TITLES[name])} ({counts[name]})</h2>"
        )
        w("<div class='grid'>" + "".join(groups[name]) + "</div>")
        hidden = counts[name] - len(groups[name])
        if hidden > 0:
            w(f"<div class='more'>{hidden} more: see the CSV or JSONL report.</div>")
    w("</body></html>\n")
