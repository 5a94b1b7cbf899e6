"""Inline SVG charts of the HTML report: files per action, files per reason code."""

from __future__ import annotations

from html import escape

# text #1b1b1b on white, bars #1f4e8c (8.6:1 against white): readable in print too
_TEXT = "#1b1b1b"
_BAR = "#1f4e8c"
TOP_REASONS = 15


def bars_svg(items: list[tuple[str, int]], label: str, left: int = 260) -> str:
    """A horizontal bar chart, one bar per (name, count), with the count beside it."""
    width, bar_h, gap = 640, 18, 6
    peak = max((n for _, n in items), default=0) or 1
    height = max(1, len(items)) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    ]
    for i, (name, n) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = int((width - left - 70) * n / peak)
        shown = name if len(name) <= 38 else name[:37] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h * 0.75:.0f}" text-anchor="end" '
            f'font-size="12" fill="{_TEXT}">{escape(shown)}</text>'
            f'<rect x="{left}" y="{y}" width="{max(w, 1 if n else 0)}" height="{bar_h}" '
            f'fill="{_BAR}"><title>{escape(name)}: {n}</title></rect>'
            f'<text x="{left + w + 6}" y="{y + bar_h * 0.75:.0f}" font-size="12" '
            f'fill="{_TEXT}">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def reason_chart(reason_counts: dict[str, int]) -> str:
    """Files per reason code, the most frequent first; the tail summed as one bar."""
    ranked = sorted(reason_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    items = ranked[:TOP_REASONS]
    rest = sum(n for _, n in ranked[TOP_REASONS:])
    if rest:
        items.append((f"{len(ranked) - TOP_REASONS} other codes", rest))
    return bars_svg(items, "Files per reason code")
