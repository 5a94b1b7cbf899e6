"""The batch package's exception family; the CLI maps them to exit code 2, the API to 4xx."""


class BatchError(Exception):
    """Base of every error a batch scan raises on purpose."""

    code = "batch_error"


class InputError(BatchError):
    """The INPUT is missing, unreadable or not a folder, archive or list of paths."""

    code = "bad_input"


class ArchiveError(InputError):
    """The archive as a whole is refused (corrupt, too many members, ...)."""

    code = "bad_archive"


class JobNotFound(BatchError):
    code = "job_not_found"


class JobConflict(BatchError):
    """A resume that does not match the job (another input, a job still running)."""

    code = "job_conflict"
