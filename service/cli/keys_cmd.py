"""`aigc keys create --role ROLE` / `aigc keys list` / `aigc keys revoke ID`."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from service.db import keys as key_store
from service.db.migrations import ensure_schema

from . import FILE_FAILED, USAGE, app, require_database

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

    ensure_schema(require_database())
    rows = key_store.list_keys()
    if as_json:
        for info in rows:
            sys.stdout.write(json.dumps(info.to_dict()) + "\n")
        return
    table = Table(title="API keys")
    # the whole id, never cut: `keys revoke` takes it (or a unique prefix of it)
    table.add_column("id", no_wrap=True, min_width=32)
    for column in ("role", "hint", "created", "state", "note"):
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
def revoke(
    key_id: str = typer.Argument(
        ..., help="The key's id (from `aigc keys list`), or a prefix of it that no other id has."
    ),
) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    ensure_schema(require_database())
    full_id = resolve_id(key_id.strip().lower(), [info.id for info in key_store.list_keys()])
    try:
        info = key_store.revoke_key(full_id)
    except key_store.ApiKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(FILE_FAILED) from exc
    typer.echo(f"revoked {info.role} key {info.id}")


def resolve_id(given: str, ids: list[str]) -> str:
    """The id itself, or the one id it is a prefix of; none: exit 1, several: exit 2."""
    if given in ids:
        return given
    found = [i for i in ids if given and i.startswith(given)]
    if len(found) == 1:
        return found[0]
    if not found:
        typer.echo(f"error: no API key with id {given!r} (or an id starting with it)", err=True)
        raise typer.Exit(FILE_FAILED)
    shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
    typer.echo(
        f"error: {given!r} is the start of {len(found)} key ids ({shown}); give more of it",
        err=True,
    )
    raise typer.Exit(USAGE)
