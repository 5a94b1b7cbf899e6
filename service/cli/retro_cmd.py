"""`aigc retro status` / `aigc retro run`: the bank's look back at recent uploads.

Each service process runs pending jobs in a thread by default; `run` is for
deployments that run them beside the service instead (AIGC_RETRO_RUN=false),
and for finishing a job by hand.
"""

from __future__ import annotations

import json

import typer

from service.db import session_scope
from service.db.migrations import ensure_schema
from service.db.retro import JOB_STATES
from service.review import retro

from . import app, load_settings, require_database

retro_app = typer.Typer(no_args_is_help=True, help="Retroactive matching of recent uploads.")
app.add_typer(retro_app, name="retro")


@retro_app.command("status")
def status(
    state: str | None = typer.Option(None, "--state", help=f"One of: {', '.join(JOB_STATES)}."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per job."),
) -> None:
    """The newest jobs: state, scans matched of the window, hits."""
    if state is not None and state not in JOB_STATES:
        typer.echo(f"error: --state must be one of {', '.join(JOB_STATES)}", err=True)
        raise typer.Exit(2)
    url = require_database()
    ensure_schema(url)
    with session_scope(url) as session:
        jobs = retro.list_jobs(session, state, limit)
    for job in jobs:
        if as_json:
            typer.echo(json.dumps(job))
            continue
        total = "?" if job["total"] is None else job["total"]
        typer.echo(
            f"{job['id']}  {job['state']:<8} {job['origin']:<8} entries={job['entries']} "
            f"scanned={job['scanned']}/{total} hits={job['hits']}"
        )


@retro_app.command("run")
def run() -> None:
    """Run every pending job (and any whose runner died) to the end, then stop."""
    settings = load_settings()
    ensure_schema(settings.database_url)
    done = retro.run_pending(settings.database_url, retro.RetroConfig.from_settings(settings))
    typer.echo(f"jobs finished={done}")
