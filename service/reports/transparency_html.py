"""The transparency figures as one self-contained HTML page with inline SVG charts.

No script, no external asset, a CSP that forbids every fetch: the page is
published as is, and a reason code or topic can never make it load anything.
"""

from __future__ import annotations

from html import escape
from typing import IO, Any

from .html_report import COLORS

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:60rem;color:#222;background:#fafafa;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.8rem}
.muted{color:#666}.figs{display:flex;flex-wrap:wrap;gap:1rem}
.fig{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.fig b{display:block;font-size:1.5rem}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.25rem .6rem;
text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
"""
_BAR = "#3f51b5"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def bar_chart(title: str, counts: dict[str, int], colors: dict[str, str] | None = None) -> str:
    """Horizontal bars, one per key, as inline SVG (role img, titled for screen readers)."""
    if not counts:
        return f'<p class="muted">{escape(title)}: nothing in this period.</p>'
    top = max(counts.values()) or 1
    row, label_w, bar_w = 26, 230, 420
    height = row * len(counts) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_w + bar_w + 80}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (name, value) in enumerate(counts.items()):
        y = 5 + i * row
        width = max(1, round(bar_w * value / top))
        color = (colors or {}).get(name, _BAR)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13">'
            f"{escape(str(name))}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row - 8}" fill="{color}"/>'
            f'<text x="{label_w + width + 6}" y="{y + 17}" font-size="13">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(counts: dict[str, int], what: str) -> str:
    if not counts:
        return f'<p class="muted">No {escape(what)} in this period.</p>'
    rows = "".join(
        f'<tr><td>{escape(str(k))}</td><td class="n">{v}</td></tr>' for k, v in counts.items()
    )
    return f"<table><tr><th>{escape(what)}</th><th>count</th></tr>{rows}</table>"


def _figures(items: list[tuple[str, str]]) -> str:
    cells = "".join(f'<div class="fig"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in items)
    return f'<div class="figs">{cells}</div>'


def write_transparency_html(report: dict[str, Any], out: IO[str]) -> None:
    uploads, opened, decided = report["uploads"], report["cases_opened"], report["cases_decided"]
    waits = decided["time_to_verdict_s"]
    span = f"{report['period']['from']} to {report['period']['to']}"
    out.write(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>Transparency report {escape(span)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Transparency report</h1><p class='muted'>{escape(span)} (UTC, both days "
        f"included) · generated {escape(report['generated_at'])}</p>"
    )
    out.write(
        _figures(
            [
                ("uploads decided", str(uploads["total"])),
                ("removed at upload", str(uploads["by_action"].get("remove", 0))),
                ("cases opened", str(opened["total"])),
                ("verdicts", str(decided["total"])),
                ("time to verdict p50", _duration(waits["p50"])),
                ("time to verdict p90", _duration(waits["p90"])),
                ("appeal rate", _rate(decided["appeal_rate"])),
                ("reversal rate (of appeals)", _rate(decided["reversal_rate"])),
                ("retroactive hits", str(opened["retroactive_hits"])),
                ("quarantined bank entries", str(opened["quarantines"])),
            ]
        )
    )
    out.write("<h2>Uploads by action</h2>")
    out.write(bar_chart("Uploads by action", uploads["by_action"], COLORS))
    out.write("<h2>Verdicts</h2>" + bar_chart("Verdicts", decided["by_verdict"]))
    out.write("<h2>Uploads by label</h2>" + _table(uploads["by_label"], "label"))
    out.write("<h2>Uploads by reason</h2>" + _table(uploads["by_reason"], "reason"))
    out.write("<h2>Cases opened by kind</h2>" + _table(opened["by_kind"], "kind"))
    out.write("<h2>Cases opened by topic</h2>" + _table(opened["by_topic"], "topic"))
    out.write(
        f"<h2>Appeals</h2><p>{decided['appeals']} of {decided['total']} decided cases were "
        f"appealed; {decided['reversals']} of those ended with a different verdict.</p>"
    )
    out.write("</body></html>\n")
