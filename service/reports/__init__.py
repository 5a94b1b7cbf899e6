"""Batch reports: JSON Lines, CSV and a self-contained HTML page, chosen by extension."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .csv_report import write_csv
from .html_report import write_html
from .jsonl_report import write_jsonl

FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".html": "html", ".htm": "html"}
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


class ReportFormatError(ValueError):
    """The report's file name or requested format is not one we write."""


def format_for(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ReportFormatError(
            f"report {path}: the extension must be .html, .csv or .jsonl, not {suffix or 'none'}"
        )
    return FORMATS[suffix]


def write_report(
    fmt: str,
    rows: Iterable[dict[str, Any]],
    out: IO[str],
    summary: dict[str, Any],
    bank_entries: dict[str, dict[str, Any]] | None = None,
) -> None:
    """`bank_entries` (entry id -> note, source, ...): the HTML cards' match evidence."""
    if fmt == "jsonl":
        write_jsonl(rows, out)
    elif fmt == "csv":
        write_csv(rows, out)
    elif fmt == "html":
        write_html(rows, out, summary, bank_entries=bank_entries)
    else:
        raise ReportFormatError(f"unknown report format {fmt!r}: choose html, csv or jsonl")


__all__ = ["FORMATS", "MEDIA_TYPES", "ReportFormatError", "format_for", "write_report"]
