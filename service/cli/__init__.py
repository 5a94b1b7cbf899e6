"""The `aigc` command line: one entry point, one module per command group.

Exit codes (the README's table): 0 success; 1 a file could not be processed
(reported per file, the run goes on; `keys revoke` of an unknown key);
2 usage or configuration error; 3 a command that only reads found no
database (it names the one it would use and how to create it); 4 `serve`
could not listen on its address (in use, or not permitted); 130 interrupted.
"""

from __future__ import annotations

import difflib
import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from labeler.config import ConfigError, EngineConfig, config_file, read_config_file
from service.settings import Settings, SettingsError

FILE_FAILED = 1
USAGE = 2
NO_DATABASE = 3
CANNOT_SERVE = 4

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="AIGC provenance: C2PA credentials, invisible watermarks and known-fake matching.",
)


def package_version() -> str:
    try:
        return version("aigc-provenance")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"aigc {package_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """AIGC provenance: C2PA credentials, invisible watermarks and known-fake matching."""
    check_config_file()


def known_keys() -> set[str]:
    """Every key the configuration file may hold: the service's and the labeler's fields."""
    return set(Settings.model_fields) | set(EngineConfig.model_fields)


def check_config_file() -> None:
    """An unreadable file or an unknown key stops every command (exit 2): a typo
    in a key must not silently leave its default in force."""
    try:
        path = config_file()
        data = read_config_file(path) if path is not None else {}
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(USAGE) from None
    for key in data:
        if key not in known_keys():
            close = difflib.get_close_matches(key, sorted(known_keys()), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; `aigc config` lists the keys"
            typer.echo(f"error: {path}: unknown key {key!r}{hint}", err=True)
            raise typer.Exit(USAGE)


def load_settings() -> Settings:
    """The service's settings, read once by a command; a bad value ends it with status 2."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(USAGE) from None


def database_missing(url: str) -> bool:
    """True for a SQLite file URL whose file does not exist (nothing else is created by reading)."""
    from service.db.bank_source import _exists

    return not _exists(url)


def _where(url: str) -> str:
    from service.cli.config_cmd import origin

    source = origin("database_url")
    return f"{url} (database_url from {source})"


def database_note() -> str | None:
    """For commands that read but can do without one: the note that there is no database."""
    url = load_settings().database_url
    if not database_missing(url):
        return None
    return (
        f"note: no database at {_where(url)}: no bank, no stored renditions; "
        "`aigc db init` creates it, or set AIGC_DATABASE_URL / database_url in aigc.toml"
    )


def require_database() -> str:
    """The database URL of a command that only reads; none there: exit 3, saying what to do."""
    url = load_settings().database_url
    if database_missing(url):
        typer.echo(
            f"error: no database at {_where(url)}; create it with `aigc db init`, "
            "or set AIGC_DATABASE_URL (or database_url in aigc.toml) to an existing one",
            err=True,
        )
        raise typer.Exit(NO_DATABASE)
    return url


# Each module adds its commands to `app`; imported for that side effect.
# isort: off
from . import scan  # noqa: E402,F401
from . import policy_cmd  # noqa: E402,F401
from . import bank_cmd  # noqa: E402,F401
from . import keys_cmd, serve_cmd  # noqa: E402,F401
from . import provenance_cmd  # noqa: E402,F401
from . import batch_cmd  # noqa: E402,F401
from . import watermark_cmd  # noqa: E402,F401
from . import outbox_cmd  # noqa: E402,F401
from . import rendition_cmd  # noqa: E402,F401
from . import retro_cmd  # noqa: E402,F401
from . import report_cmd  # noqa: E402,F401
from . import config_cmd  # noqa: E402,F401
# isort: on


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        # read deeper down (a store's default database URL): still one line, not a traceback
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(USAGE) from None
