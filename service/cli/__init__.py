"""The `aigc` command line: one entry point, one module per command group.

Exit codes: 0 success, 1 a file could not be processed (reported per file,
the run goes on), 2 usage error.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="AIGC provenance: C2PA credentials, invisible watermarks and known-fake matching.",
)


@app.callback()
def _root() -> None:
    """AIGC provenance: C2PA credentials, invisible watermarks and known-fake matching."""


# Each module adds its commands to `app`; imported for that side effect.
# isort: off
from . import scan  # noqa: E402,F401
from . import policy_cmd  # noqa: E402,F401
from . import bank_cmd  # noqa: E402,F401
from . import keys_cmd, serve_cmd  # noqa: E402,F401
from . import provenance_cmd  # noqa: E402,F401
from . import batch_cmd  # noqa: E402,F401
from . import watermark_cmd  # noqa: E402,F401
# isort: on


def main() -> None:
    app()
