"""`aigc serve [--host H] [--port P] [--workers N]`: the HTTP service under uvicorn."""

from __future__ import annotations

import typer

from . import app


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
    import uvicorn

    from service.db.base import database_url
    from service.db.models import ensure_schema

    url = database_url()
    if workers > 1 and url.startswith("sqlite"):
        typer.echo(
            "note: several workers share one SQLite file; use PostgreSQL "
            "(AIGC_DATABASE_URL) for real concurrency",
            err=True,
        )
    # once here, so that worker processes do not race to create the schema
    ensure_schema(url)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        # uvicorn would take the client from X-Forwarded-For of any loopback peer;
        # the app decides whom to believe (AIGC_TRUSTED_PROXIES) from the real peer
        proxy_headers=False,
    )
