"""`aigc dev-ca create DIR`, `aigc credentials read FILE` and `aigc credentials sign`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

import provenance

from . import app

dev_ca = typer.Typer(no_args_is_help=True, help="Development certificate authority (offline).")
credentials = typer.Typer(no_args_is_help=True, help="Read or write C2PA Content Credentials.")
app.add_typer(dev_ca, name="dev-ca")
app.add_typer(credentials, name="credentials")


@dev_ca.command("create")
def dev_ca_create(
    folder: Path = typer.Argument(..., help="Folder for the root and signer files."),
    name: str = typer.Option("aigc dev", help="Common-name prefix of the certificates."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing CA in FOLDER."),
) -> None:
    """Make a root CA and an ES256 claim signer for development and tests (never production)."""
    try:
        ca = provenance.create_dev_ca(folder, name=name, overwrite=force)
    except FileExistsError as exc:
        typer.echo(f"error: {exc} (use --force to replace it)", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"root certificate (add to AIGC_TRUST_ANCHORS to trust it): {ca.root_cert}")
    typer.echo(f"signer chain: {ca.signer_chain}")
    typer.echo(f"signer key (DEV ONLY): {ca.signer_key}")


@credentials.command("read")
def credentials_read(
    files: list[Path] = typer.Argument(..., help="Media files."),
    as_json: bool = typer.Option(False, "--json", help="The full report as one JSON line each."),
) -> None:
    """Print the C2PA report of each file (state, AI class, evidence, hints)."""
    settings = provenance.Settings.from_env()
    failed = False
    for path in files:
        try:
            report = provenance.read_credentials(path.read_bytes(), None, settings)
        except (OSError, provenance.ProvenanceError) as exc:
            failed = True
            message = getattr(exc, "strerror", None) or str(exc)
            if as_json:
                error = {"code": type(exc).__name__, "message": message}
                sys.stdout.write(json.dumps({"path": str(path), "error": error}) + "\n")
            else:
                typer.echo(f"{path}: error: {message}")
            continue
        if as_json:
            sys.stdout.write(json.dumps({"path": str(path), **report.to_dict()}) + "\n")
        else:
            state = report.state or report.status
            typer.echo(f"{path}: {state}, {report.ai_class}")
            for line in (*report.evidence, *(h.describe() for h in report.metadata_hints)):
                typer.echo(f"  {line}")
    raise typer.Exit(1 if failed else 0)


@credentials.command("sign")
def credentials_sign(
    source: Path = typer.Argument(..., help="Media to sign."),
    dest: Path = typer.Argument(..., help="Where to write the signed copy."),
    ca: Path = typer.Option(..., "--dev-ca", help="Folder made by `aigc dev-ca create`."),
    source_type: str = typer.Option(
        "trainedAlgorithmicMedia", "--digital-source-type", help="IPTC digital source type."
    ),
) -> None:
    """Sign SOURCE with a `c2pa.created` manifest (development CA)."""
    try:
        signer = provenance.SignerCredentials.from_dev_ca(ca)
        signed = provenance.sign(
            source.read_bytes(), None, signer, digital_source_type=source_type, title=source.name
        )
    except (OSError, provenance.ProvenanceError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    dest.write_bytes(signed)
    typer.echo(str(dest))
