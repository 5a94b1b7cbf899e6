"""`aigc bank ...`: curate the bank of known manipulated media.

    aigc bank add FILE... --category C [--severity S] [--note N] [--source S] [--by NAME]
    aigc bank add --pdq HEX --category C ...      (a hash without the media)
    aigc bank list [--category C] [--source S] [--all] [--page N] [--per-page N] [--json]
    aigc bank remove ID [--by NAME]
    aigc bank import FILE [--format csv|json|jsonl|txt] [--category C] ...
    aigc bank export FILE [--format ...] [--all]
    aigc bank lookup FILE | --pdq HEX [--json]   (analysts: shows distances)

Exit codes: 0 success, 1 a file or record could not be processed (reported,
the run goes on), 2 usage error (bad category, severity, id or format).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .. import bank as store
from . import app, require_database

bank_app = typer.Typer(no_args_is_help=True, help="The bank of known manipulated media.")
app.add_typer(bank_app, name="bank")

_err = Console(stderr=True)


def _usage(exc: Exception) -> typer.Exit:
    _err.print(f"[red]error:[/] {exc}")
    return typer.Exit(2)


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


@bank_app.command("add")
def add(
    files: list[Path] = typer.Argument(None, help="Images to bank (hashed, never stored)."),
    category: str = typer.Option(
        ...,
        "--category",
        "-c",
        help="misleading_deepfake, known_aigc, manipulated_media or your own",
    ),
    severity: str = typer.Option(None, "--severity", help="low, medium, high or critical"),
    note: str = typer.Option(None, "--note", help="Why it is banked (fact-check link, ...)."),
    source: str = typer.Option(None, "--source", help="fact_checker, review_team, partner, ..."),
    added_by: str = typer.Option(None, "--by", help="Who adds it."),
    pdq: list[str] = typer.Option(None, "--pdq", help="Add a PDQ hex hash instead of a file."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per entry."),
) -> None:
    """Add images (or bare PDQ hashes) to the bank."""
    try:
        store.check_category(category)
        store.check_severity(severity)
    except store.BankStoreError as exc:
        raise _usage(exc) from None
    if not files and not pdq:
        raise _usage(ValueError("give image files or --pdq HEX"))
    meta = dict(category=category, severity=severity, note=note, source=source, added_by=added_by)
    failed = False
    items = [(str(p), p, None) for p in files or ()] + [(h, None, h) for h in pdq or ()]
    for label, path, pdq_hex in items:
        try:
            if path is not None:
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise store.InvalidMedia(exc.strerror or str(exc)) from None
                entry = store.add_entry(data, filename=path.name, **meta)
            else:
                entry = store.add_entry(pdq_hex=pdq_hex, **meta)
        except store.BankStoreError as exc:
            failed = True
            row = {"input": label, "error": {"code": exc.code, "message": str(exc)}}
            if as_json:
                _emit(row)
            else:
                _err.print(f"[red]{label}[/]: {exc}")
            continue
        if as_json:
            _emit({"input": label, **entry.to_dict()})
        else:
            print(f"{label}: entry {entry.id} ({entry.category}) pdq {entry.pdq}")
    raise typer.Exit(1 if failed else 0)


@bank_app.command("list")
def list_(
    category: str = typer.Option(None, "--category", "-c"),
    source: str = typer.Option(None, "--source"),
    include_removed: bool = typer.Option(False, "--all", help="Include removed entries."),
    page: int = typer.Option(1, "--page", min=1),
    per_page: int = typer.Option(50, "--per-page", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per entry."),
) -> None:
    """List bank entries, newest first."""
    require_database()
    try:
        result = store.list_entries(
            category=category,
            source=source,
            active=None if include_removed else True,
            page=page,
            per_page=per_page,
        )
    except store.BankStoreError as exc:
        raise _usage(exc) from None
    if as_json:
        for e in result.items:
            _emit(e.to_dict())
        return
    table = Table(title=f"bank: {result.total} entries (page {page})")
    for col in ("id", "category", "severity", "source", "added", "active", "pdq", "note"):
        table.add_column(col)
    for e in result.items:
        table.add_row(
            str(e.id),
            e.category,
            e.severity or "",
            e.source or "",
            e.added_at.strftime("%Y-%m-%d %H:%M"),
            "yes" if e.active else "removed",
            e.pdq[:16] + "...",
            (e.note or "")[:40],
        )
    Console().print(table)


@bank_app.command("remove")
def remove(
    entry_id: str = typer.Argument(..., help="The entry id (from `aigc bank list`)."),
    removed_by: str = typer.Option(None, "--by", help="Who removes it."),
) -> None:
    """Remove an entry (soft delete: kept for audits, no longer matched)."""
    try:
        entry = store.remove_entry(entry_id, removed_by=removed_by)
    except store.EntryNotFound as exc:
        _err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except store.BankStoreError as exc:
        raise _usage(exc) from None
    print(f"removed entry {entry.id} ({entry.category})")


@bank_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV, JSON, JSONL or TXT (see matching/README.md)."),
    fmt: str = typer.Option(None, "--format", help="csv, json, jsonl or txt (default: extension)"),
    category: str = typer.Option(None, "--category", "-c", help="For records without one."),
    severity: str = typer.Option(None, "--severity", help="For records without one."),
    source: str = typer.Option(None, "--source", help="For records without one."),
    added_by: str = typer.Option(None, "--by", help="Who imports."),
) -> None:
    """Import PDQ hashes (ours, HMA's or ThreatExchange's) without the media."""
    try:
        if category:
            store.check_category(category)
        store.check_severity(severity)
        report = store.import_entries(
            file, fmt, category=category, severity=severity, source_name=source, added_by=added_by
        )
    except store.BankStoreError as exc:
        raise _usage(exc) from None
    for line, message in report.errors:
        _err.print(f"[red]{file}:{line}[/]: {message}")
    print(f"imported {report.added}, skipped {report.skipped}, failed {len(report.errors)}")
    raise typer.Exit(1 if report.errors else 0)


@bank_app.command("export")
def export(
    file: Path = typer.Argument(..., help="Where to write (format from the extension)."),
    fmt: str = typer.Option(None, "--format", help="csv, json, jsonl or txt"),
    include_removed: bool = typer.Option(False, "--all", help="Include removed entries."),
) -> None:
    """Export the bank's hashes (never media) in a documented format."""
    require_database()
    try:
        count = store.export_entries(file, fmt, include_inactive=include_removed)
    except store.BankStoreError as exc:
        raise _usage(exc) from None
    except OSError as exc:
        _err.print(f"[red]error:[/] cannot write {file}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    print(f"exported {count} entries to {file}")


@bank_app.command("lookup")
def lookup(
    file: Path = typer.Argument(None, help="An image to look up."),
    pdq: str = typer.Option(None, "--pdq", help="Look up a PDQ hex hash instead."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Analysts: which entries an image or hash matches, with distances and stage."""
    if (file is None) == (pdq is None):
        raise _usage(ValueError("give an image file or --pdq HEX"))
    require_database()
    try:
        if pdq is not None:
            matches = store.lookup_pdq_hex(pdq)
            near: tuple = ()
        else:
            try:
                data = file.read_bytes()
            except OSError as exc:
                _err.print(f"[red]{file}[/]: {exc.strerror or exc}")
                raise typer.Exit(1) from None
            hashes, _ = store.hash_media(data, file.name, mirrored_features=True)
            result = store.index_cache().current().lookup(hashes)
            matches, near = list(result.matches), result.near
    except store.InvalidMedia as exc:
        _err.print(f"[red]{file}[/]: {exc}")
        raise typer.Exit(1) from None
    except store.BankStoreError as exc:
        raise _usage(exc) from None
    rows = [dict(m.__dict__, near=False) for m in matches] + [
        dict(m.__dict__, near=True) for m in near
    ]
    if as_json:
        for row in rows:
            _emit(row)
        return
    if not rows:
        print("no match")
    for r in rows:
        kind = "near" if r["near"] else "match"
        how = (
            f"distance {r['distance']}" if r["distance"] is not None else f"{r['inliers']} inliers"
        )
        print(
            f"{kind}: entry {r['entry_id']} ({r['category']}) {r['hash_type']}/{r['stage']} {how}"
        )
