"""`aigc keys create --role ROLE` / `aigc keys list` / `aigc keys revoke ID`."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from service.db import keys as key_store
from service.db.migrations import ensure_schema

from . import app

keys_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP service.")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(key_store.ROLES)}."),
    note: str | None = typer.Option(None, "--note", help="Who or what the key is for."),
    organisation: str | None = typer.Option(
        None, "--org", help="reviewer/fact_checker: the organisation its verdicts speak for."
    ),
    creator_id: str | None = typer.Option(
        None, "--creator-id", help="creator: the creator id whose uploads it may appeal."
    ),
    topics: str | None = typer.Option(
        None, "--topics", help="fact_checker: comma-separated topics routed to it (required)."
    ),
    languages: str | None = typer.Option(
        None, "--languages", help="fact_checker: comma-separated languages routed to it."
    ),
) -> None:
    """Create a key; it is printed once, alone on the last line, and stored only hashed."""
    if role not in key_store.ROLES:
        typer.echo(
            f"error: unknown role {role!r}; expected one of {', '.join(key_store.ROLES)}", err=True
        )
        raise typer.Exit(2)
    ensure_schema()
    try:
        info, secret = key_store.create_key(
            role,
            note,
            organisation=organisation,
            creator_id=creator_id,
            topics=topics,
            languages=languages,
        )
    except key_store.ApiKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"created {info.role} key {info.id}; store it now, it cannot be shown again:", err=True
    )
    sys.stdout.write(secret + "\n")


@keys_app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per key."),
) -> None:
    """List keys (id, role, hint, state); secrets are never stored, so never shown."""
    import json

    ensure_schema()
    rows = key_store.list_keys()
    if as_json:
        for info in rows:
            sys.stdout.write(json.dumps(info.to_dict()) + "\n")
        return
    table = Table(title="API keys")
    for column in ("id", "role", "hint", "created", "state", "note"):
        table.add_column(column)
    for info in rows:
        state = "active" if info.active else f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(
            info.id,
            info.role,
            info.hint + "…",
            f"{info.created_at:%Y-%m-%d %H:%M}",
            state,
            info.note or "",
        )
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's id (from `aigc keys list`).")) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    ensure_schema()
    try:
        info = key_store.revoke_key(key_id)
    except key_store.ApiKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"revoked {info.role} key {info.id}")
