"""`aigc serve [--host H] [--port P] [--workers N]`: the HTTP service under uvicorn."""

from __future__ import annotations

import typer

from . import app, load_settings


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
    code = run(config)
    if code:
        raise typer.Exit(code)
