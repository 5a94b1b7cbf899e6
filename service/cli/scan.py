"""`aigc scan PATH... [--json]`: decide on files and folders, one result per file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from labeler import Decision, Engine, LabelerError
from service.db import bank_source

from . import app


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, folders recursively in a stable order; hidden files skipped."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.parts[-1:]):
                    yield child
        else:
            yield path


def scan_file(path: Path, engine: Engine) -> dict:
    """One result row: a decision, or a clear per-file error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {
            "path": str(path),
            "error": {"code": "unreadable", "message": exc.strerror or str(exc)},
        }
    try:
        decision = engine.analyze(data, filename=path.name)
    except LabelerError as exc:
        return {"path": str(path), "error": {"code": _error_code(exc), "message": str(exc)}}
    return {"path": str(path), **decision_row(decision)}


def engine_or_exit() -> Engine:
    """The configured engine; a broken configuration is a usage error (exit 2), not a crash."""
    try:
        return Engine.from_env(bank=bank_source.from_env())
    except Exception as exc:  # trust anchors, key registry, policy file, database URL
        # one plain line (a console would wrap it): the variable or file and what is wrong
        typer.echo(f"configuration error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None


def decision_row(decision: Decision) -> dict:
    return {
        "action": decision.action,
        "label": decision.label,
        "label_source": decision.label_source,
        "distribution": decision.distribution,
        "reasons": [
            {"code": r.code, "message": r.message, "evidence": r.evidence} for r in decision.reasons
        ],
        "signals": decision.signals,
        "policy_version": decision.policy_version,
        "media": decision.media,
    }


def _error_code(exc: Exception) -> str:
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@app.command()
def scan(
    paths: list[Path] = typer.Argument(..., help="Files or folders (scanned recursively)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
) -> None:
    """Scan media files and print the decision for each."""
    engine = engine_or_exit()
    failed = False
    rows = []
    for path in iter_files(paths):
        row = scan_file(path, engine)
        failed |= "error" in row
        if as_json:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
            sys.stdout.flush()
        else:
            rows.append(row)
    if not as_json:
        _print_table(rows)
    raise typer.Exit(1 if failed else 0)


_STYLE = {
    "remove": "bold white on red",
    "escalate": "bold red",
    "label": "yellow",
    "require_disclosure": "magenta",
    "none": "green",
}


def _print_table(rows: list[dict]) -> None:
    table = Table(title="aigc scan", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("action")
    table.add_column("label")
    table.add_column("why")
    for row in rows:
        name = row["path"]
        if "error" in row:
            table.add_row(name, "[red]error[/]", "", row["error"]["message"])
            continue
        why = "; ".join(r["message"] for r in row["reasons"])
        style = _STYLE.get(row["action"], "")
        table.add_row(name, f"[{style}]{row['action']}[/]", row["label"] or "", why)
    Console().print(table)
