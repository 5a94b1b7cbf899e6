"""Write a job's report from the database (so it can be made again at any time)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from service.reports import format_for, write_report

from .store import JobStore


def write_job_report(store: JobStore, job_id: str, out: str | os.PathLike) -> str:
    """Write the report whose format OUT's extension names; returns the format."""
    out = Path(out)
    fmt = format_for(out)
    view = store.view(job_id)
    rows = store.results(job_id, thumbnails=(fmt == "html"))
    out.parent.mkdir(parents=True, exist_ok=True)
    # written beside and renamed: a reader never sees half a report
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write_report(fmt, rows, fh, view.to_dict())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the report from the analyst's team
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return fmt
