"""`aigc scan` as a user runs it: a real subprocess, exit codes, per-file errors."""

import io
import json
import subprocess
import sys

from PIL import Image

from .cli_run import run_aigc


def _aigc(*args, cwd=None):
    return run_aigc(*args, cwd=cwd, timeout=120)


def test_bad_files_are_reported_and_the_run_goes_on(tmp_path):
    good = tmp_path / "a_good.png"
    Image.new("RGB", (32, 32), (10, 20, 30)).save(good)
    (tmp_path / "b_not_media.txt").write_text("hello")
    buf = io.BytesIO()
    Image.new("RGB", (300, 300)).save(buf, "JPEG")
    (tmp_path / "c_truncated.jpg").write_bytes(buf.getvalue()[:200])

    named = tmp_path / "named.txt"
    named.write_text("named on the command line")
    result = _aigc("scan", "--json", str(tmp_path), str(tmp_path / "missing.jpg"), str(named))
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
    # inside the folder, text files are skipped and counted, not errors; the
    # same kind of file named on the command line is an error row
    assert set(by_name) == {"a_good.png", "c_truncated.jpg", "missing.jpg", "named.txt"}
    assert by_name["a_good.png"]["action"] == "none"
    assert by_name["named.txt"]["error"]["code"] == "unsupported_media"
    assert "2 skipped, not media" in result.stderr  # b_not_media.txt and named.txt in the folder
    assert by_name["c_truncated.jpg"]["error"]["code"] == "media_decode_error"
    assert by_name["missing.jpg"]["error"]["code"] == "unreadable"


def test_all_good_exits_zero(tmp_path):
    Image.new("RGB", (32, 32)).save(tmp_path / "x.png")
    result = _aigc("scan", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "x.png" in result.stdout


def test_usage_error_exits_two():
    assert _aigc("scan").returncode == 2
    assert _aigc("no-such-command").returncode == 2


def test_broken_configuration_is_a_usage_error(tmp_path):
    import os

    Image.new("RGB", (32, 32)).save(tmp_path / "x.png")
    env = dict(os.environ, AIGC_TRUST_ANCHORS=str(tmp_path / "no-such-anchors.pem"))
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "scan", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2
    assert "configuration error" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_image_too_small_for_a_watermark_says_so(tmp_path):
    """With keys registered, a small image is scanned (exit 0); the table says why no mark
    was looked for."""
    import os
    from pathlib import Path

    Image.new("RGB", (200, 150), (90, 90, 90)).save(tmp_path / "small.png")
    demo = Path(__file__).resolve().parents[1] / "demo"
    env = dict(os.environ, AIGC_WATERMARK_KEYS=str(demo / "watermark-keys.yaml"))
    env["AIGC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    env["COLUMNS"] = "300"  # one table row on one line
    table = run_aigc("scan", "-q", str(tmp_path / "small.png"), env=env, timeout=120)
    assert table.returncode == 0, table.stderr
    assert "watermark not checked: too small to carry a mark: 200 x 150 px" in table.stdout
    row = json.loads(run_aigc("scan", "--json", str(tmp_path), env=env, timeout=120).stdout)
    assert row["signals"]["watermark"]["not_checked"].startswith(
        "too small to carry a mark: 200 x 150"
    )
