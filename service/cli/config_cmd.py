"""`aigc config [--json]`: the settings in force and where each comes from;
`aigc db init`: create (or bring up to date) the database the settings name.

A value comes from the environment (`AIGC_<KEY>`), else the configuration
file (AIGC_CONFIG, else ./aigc.toml), else its default. Secrets are never
printed: only whether they are set; a password inside a URL is masked.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import typer

from labeler.config import CONFIG_ENV, EngineConfig, config_file, read_config_file
from service.settings import PREFIX, Settings

from . import USAGE, app, load_settings

# values whose contents must never reach a terminal or a log
SECRET_KEYS = frozenset({"webhook_secret", "metrics_token"})
# URLs that may carry a password
URL_KEYS = frozenset({"database_url", "redis_url"})


def origin(key: str) -> str:
    """`env AIGC_X`, `file PATH` or `default`: where the value in force comes from."""
    name = PREFIX + key.upper()
    if os.environ.get(name, "").strip():
        return f"env {name}"
    path = config_file()
    if path is not None and key in read_config_file(path):
        return f"file {path}"
    return "default"


def shown(key: str, value: Any) -> Any:
    """The value as it may be printed: secrets as whether they are set, URL passwords masked."""
    if key in SECRET_KEYS:
        return None if value is None else "(set, hidden)"
    if key in URL_KEYS and isinstance(value, str):
        return mask_password(value)
    if isinstance(value, tuple):
        return [shown(key, v) for v in value]
    if value is None or isinstance(value, bool | int | float | str | list):
        return value
    return str(value)


def mask_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def rows() -> list[dict[str, Any]]:
    """One row per setting: key, variable, value (as it may be shown), source."""
    settings = load_settings()
    engine = EngineConfig()
    out, seen = [], set()
    # the service's copy wins where both declare a key (max_pixels, the platform key)
    for obj in (settings, engine):
        for key in type(obj).model_fields:
            if key in seen:
                continue
            seen.add(key)
            out.append(
                {
                    "key": key,
                    "variable": PREFIX + key.upper(),
                    "value": shown(key, getattr(obj, key)),
                    "source": origin(key),
                }
            )
    return out


@app.command("config")
def config_(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per setting."),
    changed: bool = typer.Option(False, "--changed", help="Only settings not at their default."),
) -> None:
    """Print the settings in force and where each comes from (env, file, default)."""
    path = config_file()
    found = rows()
    if changed:
        found = [r for r in found if r["source"] != "default"]
    if as_json:
        for row in found:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    if path is not None:
        where = f"{path}" + (f" ({CONFIG_ENV})" if os.environ.get(CONFIG_ENV) else "")
    else:
        where = (
            f"none ({CONFIG_ENV}=none)" if os.environ.get(CONFIG_ENV) else "none (no ./aigc.toml)"
        )
    typer.echo(f"config file: {where}")
    width = max((len(r["key"]) for r in found), default=0)
    for row in found:
        value = "" if row["value"] is None else json.dumps(row["value"])
        typer.echo(f"{row['key']:<{width}}  {value}  [{row['source']}]")


db_app = typer.Typer(no_args_is_help=True, help="The database the settings name.")
app.add_typer(db_app, name="db")


@db_app.command("init")
def init() -> None:
    """Create the database (or migrate it to the newest schema) at database_url."""
    from service.db.migrations import ensure_schema

    from . import database_missing

    url = load_settings().database_url
    existed = not database_missing(url)
    try:
        ensure_schema(url)
    except Exception as exc:  # an unreachable server, a folder that cannot be written
        typer.echo(f"error: cannot create the database at {mask_password(url)}: {exc}", err=True)
        raise typer.Exit(USAGE) from None
    verb = "up to date" if existed else "created"
    typer.echo(
        f"database {verb}: {mask_password(url)} (database_url from {origin('database_url')})"
    )


__all__ = ["Settings", "config_", "init", "origin"]
