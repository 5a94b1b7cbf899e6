"""A job killed midway (the process group, workers included) resumes with only what is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from service.db.base import database_url, session_scope
from service.db.jobs import BatchJob, BatchResult
from service.db.migrations import ensure_schema

from .conftest import make_folder

N_FILES = 40


def _recorded():
    with session_scope(database_url()) as s:
        return {r.path: (r.id, r.finished_at) for r in s.scalars(select(BatchResult))}


def test_killed_job_resumes_and_never_records_a_file_twice(tmp_path):
    folder = tmp_path / "in"
    keys = make_folder(folder, N_FILES, size=256)
    report = tmp_path / "out.jsonl"
    ensure_schema(database_url())  # so the polling below can read before the job has written
    cmd = [sys.executable, "-m", "service.cli", "batch", str(folder), "--report", str(report)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )
    try:
        deadline = time.monotonic() + 60
        while len(_recorded()) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the job recorded nothing"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    before = _recorded()
    assert 3 <= len(before) < N_FILES, "the job finished before it could be killed"
    assert not report.exists()
    with session_scope(database_url()) as s:
        job_id = s.scalars(select(BatchJob.id)).one()

    resumed = subprocess.run(
        [*cmd, "--resume", job_id, "--workers", "2"], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"job {job_id} (resumed)" in resumed.stdout
    # the first progress line counts the files done before the kill
    assert f": {len(before)}/{N_FILES} files" in resumed.stdout
    after = _recorded()
    assert sorted(after) == keys
    # rows committed before the kill are the same rows, not written again
    assert {k: after[k] for k in before} == before
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert [x["path"] for x in lines] == keys
    assert all(x["status"] == "ok" for x in lines)
