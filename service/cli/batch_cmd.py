"""`aigc batch INPUT --report OUT`: scan a folder, an archive or a list of paths.

Exit codes: 0 every file has a decision, 1 some file could not be processed
(each has its error row in the report), 2 usage error (bad input, report
extension or job id). A killed or interrupted job goes on with `--resume JOB`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from service.batch import (
    BatchError,
    BatchOptions,
    JobStore,
    create_job,
    resume_check,
    run_job,
    write_job_report,
)
from service.batch.progress import BatchProgress
from service.reports import ReportFormatError, format_for
from service.settings import BATCH_FILE_TIMEOUT_S

from . import app, load_settings


def _usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command()
def batch(
    input: Path | None = typer.Argument(
        None, help="A folder (recursive), a .zip/.tar archive, or a text/CSV list of paths."
    ),
    report: Path = typer.Option(..., "--report", help="Report file: .html, .csv or .jsonl."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: all cores)."),
    engine: str = typer.Option("local", "--engine", help="local or dask."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."
    ),
    resume: str | None = typer.Option(None, "--resume", help="Finish this job's missing files."),
    timeout: float = typer.Option(
        BATCH_FILE_TIMEOUT_S, "--timeout", help="Seconds one file may take before it is stopped."
    ),
) -> None:
    """Scan many files with a progress bar and write a report (format from OUT's extension)."""
    settings = load_settings()
    try:
        format_for(report)
        options = BatchOptions(
            workers=workers,
            engine=engine,
            scheduler=scheduler,
            timeout=timeout,
            extract_dir=settings.batch_extract_dir,
        )
        store = JobStore(settings.database_url)
        if resume:
            resume_check(store, resume, input)
            job_id = resume
        elif input is None:
            raise _usage("give an INPUT to scan, or --resume JOB")
        else:
            job_id = create_job(input, options, store=store, owner="cli")
    except (BatchError, ReportFormatError) as exc:
        raise _usage(str(exc)) from exc

    typer.echo(f"job {job_id}" + (" (resumed)" if resume else ""))
    try:
        with BatchProgress(sys.stdout) as progress:
            view = run_job(job_id, options, store=store, progress=progress)
    except KeyboardInterrupt:
        typer.echo(
            f"\ninterrupted; finish it with: aigc batch --resume {job_id} --report {report}",
            err=True,
        )
        raise typer.Exit(130) from None
    except BatchError as exc:
        raise _usage(str(exc)) from exc

    write_job_report(store, job_id, report)
    actions = ", ".join(f"{k} {v}" for k, v in sorted(view.actions.items())) or "-"
    typer.echo(
        f"job {job_id}: {view.done}/{view.total} files, {view.failed} failed | {actions}\n"
        f"report: {report}"
    )
    raise typer.Exit(1 if view.failed else 0)
