"""`aigc watermark embed|detect`: exit codes, output, keys from a file or the environment.

In-process through typer's runner (importing the whole CLI costs seconds per
subprocess); one test runs the real console entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from service.cli import app


def _aigc(*args, env=None):
    env = {"AIGC_WATERMARK_KEY_FILE": None, **(env or {})}
    result = CliRunner().invoke(app, ["watermark", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    result.returncode = result.exit_code
    return result


def test_real_entry_point_refuses_to_run_without_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "AIGC_WATERMARK_KEY_FILE"}
    res = subprocess.run(
        [sys.executable, "-m", "service.cli", "watermark", "detect", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert res.returncode == 2 and "no watermark key" in res.stderr


def _embed_coffee(tmp_path, natural, key, out_name):
    """Write a test image and its key file, mark it through the CLI: (src, out, key_file)."""
    src, out, key_file = tmp_path / "in.png", tmp_path / out_name, tmp_path / "test.key"
    Image.fromarray(natural("coffee", 600)).save(src)
    key_file.write_text(key.hex())
    made = _aigc(
        "embed", str(src), str(out), "--payload", "DEADBEEF00112233", "--key-file", str(key_file)
    )
    assert made.returncode == 0, made.stderr
    return src, out, key_file


def test_embed_then_detect(tmp_path, natural, key):
    src, out, key_file = _embed_coffee(tmp_path, natural, key, "out.jpg")
    found = _aigc(
        "detect", str(out), str(src), "--json", env={"AIGC_WATERMARK_KEY_FILE": str(key_file)}
    )
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert rows[0]["detected"] and rows[0]["payload"] == "deadbeef00112233"
    assert rows[0]["p_value"] <= 1e-9
    assert not rows[1]["detected"] and rows[1]["payload"] is None
    text = _aigc("detect", str(out), "--key-file", str(key_file))
    assert "deadbeef00112233" in text.stdout


def test_usage_errors_exit_2(tmp_path, key):
    src, key_file = tmp_path / "in.png", tmp_path / "test.key"
    Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(src)
    key_file.write_text(key.hex())
    no_key = _aigc("detect", str(src))
    assert no_key.returncode == 2 and "no watermark key" in no_key.stderr
    args = ("embed", str(src), str(tmp_path / "o.png"), "--key-file", str(key_file))
    bad = _aigc(*args, "--payload", "abc")
    assert bad.returncode == 2 and "hex" in bad.stderr
    short = _aigc(*args, "--payload", "00ff")
    assert short.returncode == 2 and "8 bytes" in short.stderr
    (tmp_path / "weak.key").write_text("0011")
    weak = _aigc("detect", str(src), "--key-file", str(tmp_path / "weak.key"))
    assert weak.returncode == 2 and "16 bytes" in weak.stderr


def test_bad_files_exit_1_per_file(tmp_path, key):
    """A file that cannot be read fails the run; a small one does not."""
    key_file = tmp_path / "test.key"
    key_file.write_text(key.hex())
    (tmp_path / "junk.jpg").write_text("not an image")
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(small)
    res = _aigc(
        "detect", str(tmp_path / "junk.jpg"), str(small), "--json", "--key-file", str(key_file)
    )
    assert res.returncode == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    # the junk file is an error; the small one an answer (not checked, and why)
    assert [("error" in r) for r in rows] == [True, False]
    assert "256" in rows[1]["reason"]
    emb = _aigc(
        "embed",
        str(small),
        str(tmp_path / "o.png"),
        "--payload",
        "00" * 8,
        "--key-file",
        str(key_file),
    )
    assert emb.returncode == 1 and "256" in emb.stderr


def test_detect_thorough_reports_its_own_hypothesis_count(tmp_path, natural, key):
    import importlib

    detect_mod = importlib.import_module("watermark.detect")
    _, out, key_file = _embed_coffee(tmp_path, natural, key, "out.png")
    rows = {}
    for flag in ((), ("--thorough",)):
        res = _aigc("detect", str(out), "--json", "--key-file", str(key_file), *flag)
        assert res.returncode == 0, res.stderr
        rows[flag] = json.loads(res.stdout)
    fast, slow = rows[()], rows[("--thorough",)]
    assert fast["detected"] and slow["detected"]
    assert slow["payload"] == fast["payload"] == "deadbeef00112233"
    assert fast["hypotheses"] == detect_mod.HYPOTHESES
    assert slow["hypotheses"] == detect_mod.THOROUGH_HYPOTHESES
    assert slow["threshold"] > fast["threshold"]


def test_a_file_too_small_for_a_mark_is_answered_not_failed(tmp_path, key):
    """Too small is a result (exit 0, the reason said plainly), embedding it an error."""
    small, key_file = tmp_path / "small.png", tmp_path / "test.key"
    Image.fromarray(np.full((180, 200, 3), 128, np.uint8)).save(small)
    key_file.write_text(key.hex())
    env = {"AIGC_WATERMARK_KEY_FILE": str(key_file)}
    text = _aigc("detect", str(small), env=env)
    reason = "too small to carry a mark: 200 x 180 px, at least 256 x 256 needed"
    assert text.returncode == 0 and text.stdout == f"{small}: not checked: {reason}\n"
    row = json.loads(_aigc("detect", str(small), "--json", env=env).stdout)
    assert row["detected"] is False and row["reason"] == reason and row["hypotheses"] == 0
    made = _aigc("embed", str(small), str(tmp_path / "o.png"), "--payload", "00" * 8, env=env)
    assert made.returncode == 1 and "too small" in made.stdout + made.stderr
