"""`aigc dev-ca create DIR`, `aigc credentials read FILE` and `aigc credentials sign`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

import provenance
from labeler.config import ConfigError, EngineConfig

from . import app

USAGE = 2


def _trust_settings() -> provenance.Settings:
    """Trust as the scan sees it (environment over aigc.toml); a bad value exits 2."""
    try:
        return provenance.Settings.from_env(EngineConfig.from_env().trust_environ())
    except (ConfigError, provenance.TrustConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(USAGE) from None


dev_ca = typer.Typer(no_args_is_help=True, help="Development certificate authority (offline).")
trust_app = typer.Typer(no_args_is_help=True, help="The C2PA trust lists in force.")
app.add_typer(trust_app, name="trust")
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
    detailed: bool = typer.Option(
        False, "--detailed", help="The manifest store as JSON, every claim field (c2patool -d)."
    ),
    tree: bool = typer.Option(False, "--tree", help="The ingredient chain, one manifest a line."),
    crjson: bool = typer.Option(False, "--crjson", help="The manifest store as crJSON."),
) -> None:
    """Print the C2PA report of each file (state in words, AI class, evidence, hints).

    Exit codes: 0 every file read; 1 a file could not be read (reported, the run goes on).
    """
    settings = _trust_settings()
    failed = False
    for path in files:
        try:
            data = path.read_bytes()
            if detailed or crjson:
                _print_store(path, data, settings, crjson)
                continue
            report = provenance.read_credentials(data, None, settings)
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
        elif tree:
            _print_tree(path, report)
        else:
            _print_report(path, report)
    raise typer.Exit(1 if failed else 0)


def _print_store(path: Path, data: bytes, settings, crjson: bool) -> None:
    if crjson:
        store = provenance.read_crjson(data, None, settings)
    else:
        store = provenance.read_store(data, None, settings, detailed=True)
    if store is None:
        typer.echo(f"{path}: no manifest", err=True)
        return
    typer.echo(json.dumps(store, indent=2))


def _print_report(path: Path, report) -> None:
    state = report.state_text or report.status
    rubric = f" ({report.rubric_class})" if report.rubric_class else ""
    typer.echo(f"{path}: {state}; {report.ai_class}{rubric}")
    if report.signer:
        typer.echo(f"  signer: {_signer(report.signer)}; signed {report.signed_at or 'unknown'}")
    for identity in report.identities:
        typer.echo(f"  identity: {identity.describe()}")
    for line in report.training_mining:
        typer.echo(f"  training/mining: {line}")
    for line in (*report.evidence, *(h.describe() for h in report.metadata_hints)):
        typer.echo(f"  {line}")


def _print_tree(path: Path, report) -> None:
    typer.echo(f"{path}: {report.state_text or report.status}")
    for entry in report.chain:
        pad = "  " * (entry.depth + 1)
        how = f"{entry.relationship}: " if entry.relationship else ""
        typer.echo(f"{pad}{how}{entry.title or '?'} [{entry.label}]")
        typer.echo(f"{pad}  signer: {entry.signer or 'unknown'}; signed {entry.time or 'unknown'}")
        typer.echo(f"{pad}  claim generator: {entry.claim_generator or 'unknown'}")
        typer.echo(f"{pad}  state: {entry.state_text}")
        for action in entry.actions:
            typer.echo(f"{pad}  action: {action}")
        for line in entry.ai:
            typer.echo(f"{pad}  AI: {line}")


def _signer(signer) -> str:
    cn, issuer = signer.common_name, signer.issuer
    return f"{cn} (issued by {issuer})" if cn and issuer else (cn or issuer or "unknown")


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


@trust_app.command("show")
def trust_show(
    as_json: bool = typer.Option(False, "--json", help="One JSON document."),
) -> None:
    """List the trust lists in force: kind, certificates, source, issue and next-update dates.

    A list past its next update is flagged (a newer copy is due: AIGC_TRUST_LIST,
    AIGC_TRUST_LIST_LEGACY). Exit codes: 0 shown (even with a stale list); 2 a list
    or anchor file is missing or unreadable.
    """
    try:
        lists = _trust_settings().lists()
    except provenance.TrustConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    rows = [t.summary() for t in lists]
    if as_json:
        typer.echo(json.dumps({"lists": rows}, indent=2))
    for row in rows if not as_json else ():
        typer.echo(
            f"{row['kind']:<9} {row['name']}  ({row['certificates']} certificates, {row['format']})"
        )
        typer.echo(f"          file: {row['path']}")
        if row["source"]:
            typer.echo(f"          source: {row['source']}")
        typer.echo(
            f"          issued: {row['issued'] or 'not stated'}; "
            f"next update: {row['next_update'] or 'not stated'}"
        )
    if not any(t.kind == "legacy" for t in lists) and not as_json:
        typer.echo(
            "legacy    none: set AIGC_TRUST_LIST_LEGACY to the interim list for trusted_legacy"
        )
    for row in rows:
        if row["expired"]:
            typer.echo(
                f"warning: {row['name']} is past its next update ({row['next_update']}); "
                "install a newer copy",
                err=True,
            )
