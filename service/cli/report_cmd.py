"""`aigc report transparency`: the period's published figures, as HTML or JSON."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from service.db.migrations import ensure_schema
from service.reports.transparency import transparency
from service.reports.transparency_html import write_transparency_html

from . import app, require_database

report_app = typer.Typer(no_args_is_help=True, help="Reports over the audit trail and the cases.")
app.add_typer(report_app, name="report")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {option} must be a date as YYYY-MM-DD, not {value!r}", err=True)
        raise typer.Exit(2) from None


@report_app.command("transparency")
def transparency_(
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, UTC)."),
    end: str = typer.Option(..., "--to", help="Last day, included (YYYY-MM-DD, UTC)."),
    out: Path = typer.Option(..., "--out", help="FILE.html (with charts) or FILE.json."),
) -> None:
    """Counts per action, label, reason, verdict and topic; time to verdict; appeals and
    reversals; retroactive hits and quarantines."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        typer.echo(f"error: --to ({last}) is before --from ({first})", err=True)
        raise typer.Exit(2)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".json"):
        typer.echo(f"error: --out must end in .html or .json, not {suffix or 'nothing'}", err=True)
        raise typer.Exit(2)
    url = require_database()
    ensure_schema(url)
    report = transparency(url, first, last)
    try:
        with out.open("w", encoding="utf-8") as handle:
            if suffix == ".json":
                json.dump(report, handle, indent=2)
                handle.write("\n")
            else:
                write_transparency_html(report, handle)
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    uploads, decided = report["uploads"], report["cases_decided"]
    typer.echo(f"{out}: {uploads['total']} uploads, {decided['total']} verdicts")
