"""Archives posted to /v1/batch: where they are kept, and when they go.

An upload lives as long as its job: it is deleted when the job ends (done or
failed) and kept only when a job was interrupted, so that `aigc batch
--resume` can finish it. A server that died mid-job leaves its upload and its
extraction folder behind; `sweep` deletes those once nothing has used them
for the retention time. A running job proves it is alive by touching its
upload (here) and its extraction folder (the runner) every HEARTBEAT_S.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from service.settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".upload"
EXTRACT_PREFIX = "aigc-batch-"  # archives.extract's temporary folders
HEARTBEAT_S = 60.0


def upload_dir(settings: Settings) -> Path:
    """Where uploads are kept (AIGC_BATCH_DIR, else ./data/batch)."""
    base = Path(settings.batch_dir) if settings.batch_dir else Path.cwd() / "data" / "batch"
    folder = base / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def extract_base(settings: Settings) -> Path:
    """Where archives are extracted (AIGC_BATCH_EXTRACT_DIR, else the system temp folder)."""
    raw = settings.batch_extract_dir
    return Path(raw) if raw else Path(tempfile.gettempdir())


def save(stream: BinaryIO, settings: Settings) -> Path:
    dest = upload_dir(settings) / f"{os.urandom(8).hex()}{SUFFIX}"
    with open(dest, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return dest


def discard(path: str | os.PathLike) -> None:
    try:
        Path(path).unlink(missing_ok=True)
    except OSError as exc:  # the sweep gets it later; the job's answer stands
        log.warning("could not delete batch upload %s: %s", path, exc)


def touch(path: str | os.PathLike) -> None:
    with contextlib.suppress(OSError):  # gone: the job ends soon, nothing to keep alive
        os.utime(path)


class Heartbeat:
    """Touches `path` at most every `every` seconds when called (a job's progress hook)."""

    def __init__(self, path: str | os.PathLike, every: float = HEARTBEAT_S) -> None:
        self.path = path
        self.every = every
        self._last = time.monotonic()

    def __call__(self, *_args) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            touch(self.path)


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0  # gone already, or unreadable: not ours to judge


def sweep(
    settings: Settings,
    *,
    active: set[str] | frozenset[str] = frozenset(),
    now: float | None = None,
) -> list[Path]:
    """Delete uploads and extraction folders untouched for the retention time; returns what went.

    `active`: uploads of jobs this process has queued or is running (a queued
    job's upload is not touched until it starts).
    """
    now = time.time() if now is None else now
    retention_s = settings.batch_upload_retention_s
    removed: list[Path] = []
    for path in upload_dir(settings).glob(f"*{SUFFIX}"):
        if str(path) not in active and _age(path, now) > retention_s:
            discard(path)
            removed.append(path)
    base = extract_base(settings)
    if base.is_dir():
        for path in base.glob(f"{EXTRACT_PREFIX}*"):
            if path.is_dir() and not path.is_symlink() and _age(path, now) > retention_s:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    if removed:
        log.info("batch sweep removed %d leftover upload(s) or folder(s)", len(removed))
    return removed
