"""`aigc outbox deliver` / `aigc outbox list`: the webhook outbox from the command line.

The service delivers in a thread of each process by default; `deliver` is
for deployments that run one deliverer beside the service instead
(AIGC_WEBHOOK_DELIVER=false), and for draining the outbox by hand.
"""

from __future__ import annotations

import signal
import threading

import typer

from service.db import session_scope
from service.db.migrations import ensure_schema
from service.db.outbox import STATES
from service.review import deliver, events

from . import app, load_settings, require_database

outbox_app = typer.Typer(no_args_is_help=True, help="The webhook outbox (review loop events).")
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("deliver")
def deliver_(
    until_empty: bool = typer.Option(
        False, "--until-empty", help="Stop when nothing is due (else run until interrupted)."
    ),
) -> None:
    """Post due events to AIGC_WEBHOOK_URL, signed with AIGC_WEBHOOK_SECRET."""
    settings = load_settings()
    config = deliver.DeliveryConfig.from_settings(settings)
    if config is None:
        typer.echo("error: set AIGC_WEBHOOK_URL and AIGC_WEBHOOK_SECRET", err=True)
        raise typer.Exit(2)
    ensure_schema(settings.database_url)
    worker = deliver.Deliverer(settings.database_url, config)
    if until_empty:
        totals = {"delivered": 0, "retry": 0, "dead": 0}
        while True:
            counts = worker.run_once()
            for name, value in counts.items():
                totals[name] += value
            if not any(counts.values()):
                break
        typer.echo(" ".join(f"{k}={v}" for k, v in totals.items()))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        stop.set()


@outbox_app.command("list")
def list_(
    state: str = typer.Option("dead", "--state", help=f"One of: {', '.join(STATES)}."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
) -> None:
    """Counts per state, then the newest events of one state (dead letters by default)."""
    if state not in STATES:
        typer.echo(f"error: --state must be one of {', '.join(STATES)}", err=True)
        raise typer.Exit(2)
    url = require_database()
    ensure_schema(url)
    with session_scope(url) as session:
        counts = events.counts(session)
        rows = events.list_events(session, state, 1, limit)
    typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    for row in rows:
        error = f"  {row['last_error']}" if row["last_error"] else ""
        typer.echo(f"{row['id']}  {row['kind']}  attempts={row['attempts']}{error}")
