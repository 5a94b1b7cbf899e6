"""`aigc rendition IN OUT [--scan-id ID]` and `aigc credentials recover FILE [--json]`."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import typer

from labeler import ConfigError, Engine, LabelerError
from service.db import session_scope
from service.db.audit import get_scan
from service.db.migrations import ensure_schema
from service.durable.records import (
    NotConfigured,
    disclosure_of,
    new_durable_id,
    save,
    signer_from_settings,
)
from service.durable.rendition import RenditionError, render

from . import app, load_settings
from .provenance_cmd import credentials

KEY_HELP = "AIGC_PLATFORM_WATERMARK_KEY_FILE (or AIGC_PLATFORM_WATERMARK_KEY_ID) is not set"


def _fail(message: str, status: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(status)


def _engine() -> Engine:
    try:
        return Engine.from_env()
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None


def _decision(url: str, engine: Engine, data: bytes, name: str, scan_id: str | None) -> dict:
    if scan_id is None:
        return engine.run(data, name).decision.to_dict()
    with session_scope(url) as session:
        row = get_scan(session, scan_id)
        if row is None:
            raise _fail(f"no scan with id {scan_id!r}", 1)
        if row.sha256 != hashlib.sha256(data).hexdigest():
            raise _fail(f"scan {scan_id} was made of another file", 1)
        return dict(row.decision)


@app.command("rendition")
def rendition(
    source: Path = typer.Argument(..., help="The upload (JPEG, PNG or WebP)."),
    dest: Path = typer.Argument(..., help="Where to write the rendition."),
    scan_id: str | None = typer.Option(None, "--scan-id", help="Record this scan's decision."),
) -> None:
    """Make the file the platform serves: its mark (a random durable id) and signed credentials."""
    settings = load_settings()
    engine = _engine()
    if engine.platform_key is None:
        raise _fail(f"{KEY_HELP}: renditions need the platform's watermark key", 2)
    try:
        signer = signer_from_settings(settings)
    except NotConfigured as exc:
        raise _fail(str(exc), 2) from None
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise _fail(f"{source}: {exc.strerror}", 1) from None
    url = settings.database_url
    ensure_schema(url)
    try:
        decision = _decision(url, engine, data, source.name, scan_id)
        disclosure = disclosure_of(decision)
        made = render(
            data,
            source.name,
            engine.platform_key.key,
            new_durable_id(url),
            signer,
            disclosure,
            engine.limits,
            engine.credentials,
        )
    except (LabelerError, RenditionError) as exc:
        raise _fail(f"{source}: {exc}", 1) from None
    dest.write_bytes(made.data)
    save(url, made, decision, disclosure, scan_id=scan_id, created_by="cli")
    typer.echo(f"durable id {made.durable_id}  manifest {made.manifest_id}  -> {dest}")


@credentials.command("recover")
def credentials_recover(
    path: Path = typer.Argument(..., help="A file that may carry the platform's mark."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Look for the platform's mark and recover the credentials of the rendition it names."""
    engine = _engine()
    if engine.platform_key is None:
        raise _fail(f"{KEY_HELP}: there is no platform mark to look for", 2)
    try:
        analysis = engine.run(path.read_bytes(), path.name)
    except OSError as exc:
        raise _fail(f"{path}: {exc.strerror}", 1) from None
    except LabelerError as exc:
        raise _fail(f"{path}: {exc}", 1) from None
    value = analysis.signals.recovered
    decision = analysis.decision
    if as_json:
        row = {
            "path": str(path),
            "recovered": value.to_dict() if value is not None else None,
            "action": decision.action,
            "label": decision.label,
            "reasons": list(decision.reason_codes),
        }
        sys.stdout.write(json.dumps(row) + "\n")
        return
    typer.echo(f"{path}: {_summary(value)}")
    typer.echo(f"  decision: {decision.action}, label {decision.label or '-'}")
    for reason in decision.reasons:
        typer.echo(f"  {reason.code}: {reason.message}")


def _summary(value) -> str:
    if value is None:
        return "not an image the platform marks"
    if not value.mark_found:
        return "no platform mark"
    if value.recovered:
        return (
            f"recovered credentials of rendition {value.durable_id} ({value.manifest_id}): "
            f"{value.ai_class or 'no AI class'}, origin {value.origin or 'unknown'}"
        )
    if value.mismatch:
        return f"platform mark {value.durable_id}, but the picture is not that rendition's"
    return f"platform mark {value.durable_id}, no record in the manifest repository"
