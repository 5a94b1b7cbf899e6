"""Whole jobs through the real labeler: rows per file, errors per file, resumption, reports."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.batch import BatchOptions, JobStore, create_job, run_job, write_job_report
from service.cli import app
from service.db.base import database_url, session_scope
from service.db.jobs import BatchResult

from .conftest import image_bytes, make_folder

HOSTILE = ("tiff_poc.tiff", "riff_bomb_1000.wav", "nested_moov_1000.mp4")


def _rows(store, job_id):
    return {r["path"]: r for r in store.results(job_id, thumbnails=True)}


def test_job_records_every_file_once_with_per_file_errors(tmp_path, fixtures_dir):
    folder = tmp_path / "in"
    keys = make_folder(folder, 6)
    for name in HOSTILE:
        shutil.copy(fixtures_dir / name, folder / name)
    (folder / "notes.txt").write_text("not media")
    truncated = image_bytes("coffee")[:300]
    (folder / "truncated.jpg").write_bytes(truncated)

    store = JobStore()
    options = BatchOptions(workers=2, timeout=60)
    job_id = create_job(folder, options, store=store)
    events = []
    view = run_job(job_id, options, store=store, progress=lambda e, p: events.append(e))

    rows = _rows(store, job_id)
    assert set(rows) == set(keys) | set(HOSTILE) | {"notes.txt", "truncated.jpg"}
    assert (view.status, view.total, view.done) == ("done", len(rows), len(rows))
    for key in keys:
        assert rows[key]["status"] == "ok"
        assert rows[key]["action"] in ("none", "label", "require_disclosure", "escalate")
        assert rows[key]["thumbnail"][:2] == b"\xff\xd8"  # a JPEG thumbnail
        assert rows[key]["sha256"] and rows[key]["reasons"]
    assert rows["notes.txt"]["error_code"] == "unsupported_media"
    assert rows["truncated.jpg"]["error_code"] == "media_decode_error"
    assert rows["riff_bomb_1000.wav"]["error_code"] == "unsupported_media"
    failed = sum(1 for r in rows.values() if r["status"] != "ok")
    assert view.failed == failed >= 3
    assert events[0] == "start" and events[-1] == "end" and events.count("file") == len(rows)

    # a second run of the same job has nothing left to do and records nothing twice
    again = run_job(job_id, options, store=store)
    assert again.done == len(rows)
    assert store.record(job_id, {"path": keys[0], "status": "ok"}) is False
    with session_scope(database_url()) as s:
        n = s.scalar(select(func.count()).where(BatchResult.job_id == job_id))
    assert n == len(rows)


def test_resume_processes_only_missing_files(tmp_path):
    folder = tmp_path / "in"
    keys = make_folder(folder, 6)
    store = JobStore()
    options = BatchOptions(workers=1)
    job_id = create_job(folder, options, store=store)
    # as if a killed run had committed the first two files
    for key in keys[:2]:
        store.record(job_id, {"path": key, "status": "ok", "action": "none", "seconds": -1.0})
    seen = []
    run_job(job_id, options, store=store, progress=lambda e, p: seen.append(p))
    processed = [p["row"]["path"] for p in seen if "row" in p]
    assert processed == keys[2:] or sorted(processed) == keys[2:]
    rows = _rows(store, job_id)
    assert [rows[k]["seconds"] for k in keys[:2]] == [-1.0, -1.0]  # untouched
    assert len(rows) == 6


def test_reports_in_each_format(tmp_path, fixtures_dir):
    folder = tmp_path / "in"
    keys = make_folder(folder, 3)
    shutil.copy(fixtures_dir / "tiff_poc.tiff", folder / "=cmd().tiff")
    store = JobStore()
    options = BatchOptions(workers=1)
    job_id = create_job(folder, options, store=store)
    run_job(job_id, options, store=store)

    write_job_report(store, job_id, tmp_path / "r.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [x["path"] for x in lines] == sorted([*keys, "=cmd().tiff"])
    by_path = {x["path"]: x for x in lines}
    assert by_path["=cmd().tiff"]["error"]["code"] == "media_decode_error"
    assert set(by_path[keys[0]]["signals"]) >= {"credentials", "watermark", "match", "errors"}

    write_job_report(store, job_id, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4
    # a spreadsheet must not run a file name as a formula
    assert "'=cmd().tiff" in [r["path"] for r in table]
    assert all(r["action"] for r in table if r["status"] == "ok")

    write_job_report(store, job_id, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    thumbs = re.findall(r"id='thumbs-\d+'>(.*?)</script>", html)
    assert sum(len(json.loads(chunk)) for chunk in thumbs) == 3
    assert "<svg" in html and "t-error'>error</span></td><td class='n'>1</td>" in html

    from service.reports import ReportFormatError

    with pytest.raises(ReportFormatError):
        write_job_report(store, job_id, tmp_path / "r.pdf")


def test_cli_exit_codes_and_plain_progress(tmp_path):
    folder = tmp_path / "in"
    make_folder(folder, 3)
    runner = CliRunner()
    out = tmp_path / "ok.csv"
    result = runner.invoke(app, ["batch", str(folder), "--report", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "batch " in result.output and "3/3 files (100%)" in result.output
    job_id = result.output.split()[1]
    assert len(out.read_text().splitlines()) == 4

    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = runner.invoke(app, ["batch", str(folder), "--report", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 1, result.output
    assert "1 failed" in result.output

    for args in (
        ["batch", str(tmp_path / "missing"), "--report", str(out)],
        ["batch", str(folder), "--report", str(tmp_path / "r.pdf")],
        ["batch", str(folder), "--report", str(out), "--engine", "dask"],
        ["batch", "--resume", "nosuchjob", "--report", str(out)],
        ["batch", str(tmp_path), "--resume", job_id, "--report", str(out)],
        ["batch", "--report", str(out)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.output


def test_a_refused_duplicate_member_does_not_hide_the_extracted_one(tmp_path):
    import warnings
    import zipfile

    archive = tmp_path / "dup.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(archive, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        zf.writestr("a.jpg", image_bytes("coffee"))
        zf.writestr("a.jpg", b"second copy")
    store = JobStore()
    options = BatchOptions(workers=1)
    job_id = create_job(archive, options, store=store)
    run_job(job_id, options, store=store)
    rows = _rows(store, job_id)
    assert rows["a.jpg"]["status"] == "ok"
    assert rows["a.jpg [archive.duplicate]"]["status"] == "skipped"
