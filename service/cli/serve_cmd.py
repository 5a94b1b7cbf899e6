"""`aigc serve [--host H] [--port P] [--workers N]`: the HTTP service under uvicorn."""

from __future__ import annotations

import typer

from . import CANNOT_SERVE, app, load_settings


def check_address(host: str, port: int) -> None:
    """Bind the address once before anything starts: in use or not permitted -> exit 4.

    uvicorn would log the error and exit with its own startup code; the CLI's
    documented code and one line naming the address are clearer to a script.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # the same option uvicorn sets, so a port in TIME_WAIT is not called busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            typer.echo(f"error: cannot listen on {host}:{port}: {reason}", err=True)
            raise typer.Exit(CANNOT_SERVE) from None


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (use PostgreSQL for more than one)."
    ),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Serve the HTTP API and the creator page (database: AIGC_DATABASE_URL)."""
    from service.db.migrations import ensure_schema
    from service.server.run import build_config, run

    # read here too (each worker reads them again), so that a bad value stops the
    # start with its name, not with a worker's traceback
    settings = load_settings()
    check_address(host, port)
    url = settings.database_url
    if workers > 1 and url.startswith("sqlite"):
        typer.echo(
            "note: several workers share one SQLite file; use PostgreSQL "
            "(AIGC_DATABASE_URL) for real concurrency",
            err=True,
        )
    # once here, so that worker processes do not race to create the schema
    ensure_schema(url)
    config = build_config(settings, host=host, port=port, workers=workers, log_level=log_level)
    if run(config):
        raise typer.Exit(CANNOT_SERVE)
