"""Analyst batch scans: a folder, an archive or a list of paths, on a local pool or Dask."""

from .archives import ArchiveLimits, Item, Skipped
from .errors import ArchiveError, BatchError, InputError, JobConflict, JobNotFound
from .inputs import BatchInput, open_input
from .reporting import write_job_report
from .runner import BatchOptions, create_job, resume_check, run_job
from .store import JobStore, JobView

__all__ = [
    "ArchiveError",
    "ArchiveLimits",
    "BatchError",
    "BatchInput",
    "BatchOptions",
    "InputError",
    "Item",
    "JobConflict",
    "JobNotFound",
    "JobStore",
    "JobView",
    "Skipped",
    "create_job",
    "open_input",
    "resume_check",
    "run_job",
    "write_job_report",
]
