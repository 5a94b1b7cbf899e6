"""The same job on a dask.distributed cluster (a small LocalCluster in this process)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from service.batch import BatchOptions, JobStore, create_job, run_job
from service.cli import app

from .conftest import make_folder

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster


def test_cli_runs_the_job_on_a_dask_scheduler(tmp_path, cluster, fixtures_dir):
    folder = tmp_path / "in"
    keys = make_folder(folder, 5)
    shutil.copy(fixtures_dir / "riff_bomb_1000.wav", folder / "riff_bomb_1000.wav")
    report = tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "batch",
            str(folder),
            "--report",
            str(report),
            "--engine",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        ],
    )
    assert result.exit_code == 1, result.output  # the .wav is a per-file error
    rows = {r["path"]: r for r in map(json.loads, report.read_text().splitlines())}
    assert sorted(rows) == sorted([*keys, "riff_bomb_1000.wav"])
    assert all(rows[k]["status"] == "ok" and rows[k]["sha256"] for k in keys)
    assert rows["riff_bomb_1000.wav"]["error"]["code"] == "unsupported_media"
    # the job row says where it ran
    store = JobStore()
    job_id = result.output.split()[1]
    assert store.job(job_id).engine == "dask"


def test_dask_resume_skips_recorded_files(tmp_path, cluster):
    folder = tmp_path / "in"
    keys = make_folder(folder, 4)
    store = JobStore()
    options = BatchOptions(engine="dask", scheduler=cluster.scheduler_address)
    job_id = create_job(folder, options, store=store)
    store.record(job_id, {"path": keys[0], "status": "ok", "action": "none", "seconds": -1.0})
    seen = []
    view = run_job(job_id, options, store=store, progress=lambda e, p: seen.append(p))
    assert sorted(p["row"]["path"] for p in seen if "row" in p) == keys[1:]
    assert (view.status, view.done, view.failed) == ("done", 4, 0)
