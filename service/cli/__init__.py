"""The `aigc` command line: one entry point, one module per command group.

Exit codes: 0 success, 1 a file could not be processed (reported per file,
the run goes on), 2 usage error.
"""

from __future__ import annotations

import sys

import typer

from service.settings import Settings, SettingsError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="AIGC provenance: C2PA credentials, invisible watermarks and known-fake matching.",
)


@app.callback()
def _root() -> None:
    """AIGC provenance: C2PA credentials, invisible watermarks and known-fake matching."""


def load_settings() -> Settings:
    """The service's settings, read once by a command; a bad value ends it with status 2."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


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
# isort: on


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        # read deeper down (a store's default database URL): still one line, not a traceback
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
