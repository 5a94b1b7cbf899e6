"""`aigc scan PATH... [--json]`: decide on files and folders, one result per file."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from labeler import Decision, Engine, LabelerError
from labeler.media import sniff_mime
from service.batch.progress import BatchProgress
from service.db import bank_source

from . import FILE_FAILED, USAGE, app, database_note

# enough leading bytes for every container the labeler sniffs
_SNIFF_BYTES = 64


def iter_files(paths: Iterable[Path], skipped: list[Path] | None = None) -> Iterator[Path]:
    """Files as given, folders recursively in a stable order; hidden files skipped.

    Inside a folder, files that are not media (by their leading bytes, as the
    labeler sniffs them) are skipped and appended to `skipped`; a file named
    on the command line is always scanned, so a wrong one is its error row.
    """
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.parts[-1:]):
                    if _is_media(child):
                        yield child
                    elif skipped is not None:
                        skipped.append(child)
        else:
            yield path


def _is_media(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return True  # scanned, so the reason it cannot be read is reported
    return sniff_mime(head) is not None


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
        raise typer.Exit(USAGE) from None


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
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar and no summary line on stderr."
    ),
) -> None:
    """Scan media files and print the decision for each.

    Folders are scanned recursively; files in them that are not media are
    skipped and counted. Exit 0 when every file has a decision, 1 when one
    could not be processed, 2 for a configuration error.
    """
    note = database_note()
    if note and not quiet:
        typer.echo(note, err=True)
    engine = engine_or_exit()
    skipped: list[Path] = []
    files = list(iter_files(paths, skipped))
    started = time.monotonic()
    rows = []
    with _progress(len(files), quiet) as progress:
        for path in files:
            row = scan_file(path, engine)
            rows.append(row)
            progress("file", {"row": row})
            if as_json:
                sys.stdout.write(json.dumps(row, default=str) + "\n")
                sys.stdout.flush()
    if not as_json:
        _print_table(rows)
    if not quiet:
        typer.echo(summary_line(rows, len(skipped), time.monotonic() - started), err=True)
    raise typer.Exit(FILE_FAILED if any("error" in row for row in rows) else 0)


def summary_line(rows: list[dict], skipped: int, seconds: float) -> str:
    """`N files in T s (R/s): action n, ... [; S skipped, not media]`."""
    counts: dict[str, int] = {}
    for row in rows:
        bucket = "error" if "error" in row else row["action"]
        counts[bucket] = counts.get(bucket, 0) + 1
    order = ("remove", "escalate", "label", "require_disclosure", "none", "error")
    parts = ", ".join(f"{k} {counts[k]}" for k in order if counts.get(k)) or "-"
    rate = len(rows) / seconds if seconds > 0 else 0.0
    files = "1 file" if len(rows) == 1 else f"{len(rows)} files"
    text = f"{files} in {seconds:.1f} s ({rate:.1f}/s): {parts}"
    return text + (f"; {skipped} skipped, not media" if skipped else "")


class _NoProgress:
    def __enter__(self):
        return lambda _event, _payload: None

    def __exit__(self, *exc) -> None:
        return None


def _progress(total: int, quiet: bool):
    """A bar on stderr for more than one file when stderr is a terminal, else nothing."""
    if quiet or total < 2 or not sys.stderr.isatty():
        return _NoProgress()
    bar = BatchProgress(sys.stderr, plain=False, label="scan")
    bar("start", {"total": total, "done": 0, "job": "scan"})
    return bar


_STYLE = {
    "remove": "bold white on red",
    "escalate": "bold red",
    "label": "yellow",
    "require_disclosure": "magenta",
    "none": "green",
}


def _notes(row: dict) -> list[str]:
    """What a signal could not look at, said plainly (a decision reason it is not)."""
    mark = (row.get("signals") or {}).get("watermark") or {}
    return [f"watermark not checked: {mark['not_checked']}"] if mark.get("not_checked") else []


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
        why = "; ".join([r["message"] for r in row["reasons"]] + _notes(row))
        style = _STYLE.get(row["action"], "")
        table.add_row(name, f"[{style}]{row['action']}[/]", row["label"] or "", why)
    Console().print(table)
