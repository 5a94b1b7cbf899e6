"""The CLI's rough edges, as a user meets them: --version, watermark keygen and key file
errors, key ids in `keys list` and prefixes in `keys revoke`, `serve` on a busy port,
and the progress bar of a many-file scan on a narrow terminal (a real pseudo-terminal)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import select
import socket
import stat
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from PIL import Image
from rich.console import Console

from .cli_run import run_aigc

ROOT = Path(__file__).resolve().parent.parent


_aigc = run_aigc


def test_version():
    from importlib.metadata import version

    result = _aigc("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"aigc {version('aigc-provenance')}"


def test_keygen_writes_a_private_hex_key_that_embed_and_detect_read(tmp_path):
    key = tmp_path / "partner.key"
    result = _aigc("watermark", "keygen", str(key))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    text = key.read_text().strip()
    assert len(bytes.fromhex(text)) == 32
    # never overwritten: a lost key cannot read the marks made with it
    again = _aigc("watermark", "keygen", str(key))
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert key.read_text().strip() == text

    import numpy as np

    image = tmp_path / "in.png"
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(40, 215, (512, 512, 3), dtype=np.uint8)).save(image)
    marked = tmp_path / "out.png"
    payload = "00ff00ff00ff00ff"
    embed = _aigc(
        "watermark", "embed", str(image), str(marked), "--payload", payload, "--key-file", str(key)
    )
    assert embed.returncode == 0, embed.stderr
    detect = _aigc("watermark", "detect", str(marked), "--key-file", str(key), "--json")
    assert detect.returncode == 0, detect.stderr
    found = json.loads(detect.stdout.splitlines()[0])
    assert found["detected"] is True and found["payload"] == payload


def test_a_raw_key_file_gets_an_error_that_names_the_format(tmp_path):
    raw = tmp_path / "raw.key"
    raw.write_bytes(bytes(range(0x80, 0xA0)))  # 32 raw bytes, not text
    image = tmp_path / "in.png"
    Image.new("RGB", (64, 64)).save(image)
    result = _aigc("watermark", "detect", str(image), "--key-file", str(raw))
    assert result.returncode == 2
    assert "codec" not in result.stderr
    assert "hex digits" in result.stderr and "aigc watermark keygen" in result.stderr
    raw.write_text("not hex at all, but text\n")
    text = _aigc("watermark", "detect", str(image), "--key-file", str(raw))
    assert text.returncode == 2 and "is not hex" in text.stderr and "keygen" in text.stderr


def _create_key(role: str = "analyst") -> str:
    result = _aigc("keys", "create", "--role", role)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_keys_list_shows_whole_ids_and_revoke_takes_a_unique_prefix():
    assert _aigc("db", "init").returncode == 0
    for _ in range(6):
        _create_key()
    listed = _aigc("keys", "list", "--json")
    ids = [json.loads(line)["id"] for line in listed.stdout.splitlines()]
    assert len(ids) == 6 and all(len(i) == 32 for i in ids)
    table = _aigc("keys", "list", env=dict(os.environ, COLUMNS="80"))
    assert all(i in table.stdout for i in ids), table.stdout  # whole ids even at 80 columns

    target = ids[0]
    prefix = next(
        target[:n] for n in range(1, 33) if sum(i.startswith(target[:n]) for i in ids) == 1
    )
    revoked = _aigc("keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip().endswith(target)

    # ambiguous: ids sharing a first digit (16 hex digits, 6 ids: likely; forced if not)
    shared = next((i[0] for i in ids[1:] if sum(j.startswith(i[0]) for j in ids) > 1), None)
    if shared is not None:
        ambiguous = _aigc("keys", "revoke", shared)
        assert ambiguous.returncode == 2
        assert "is the start of" in ambiguous.stderr and "give more of it" in ambiguous.stderr
    unknown = _aigc("keys", "revoke", "zz")
    assert unknown.returncode == 1 and "no API key" in unknown.stderr


def test_ambiguous_prefix_is_a_usage_error():
    import pytest
    import typer

    from service.cli.keys_cmd import resolve_id

    ids = ["abc1" + "0" * 28, "abc2" + "0" * 28]
    assert resolve_id("abc1", ids) == ids[0]
    with pytest.raises(typer.Exit) as exc:
        resolve_id("abc", ids)
    assert exc.value.exit_code == 2


def test_serve_on_a_busy_port_exits_4_naming_the_address(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _aigc("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before the database is touched


def _render(width: int) -> str:
    """The bar's line as a terminal `width` columns wide shows it, mid-batch."""
    from rich.progress import Progress

    from service.batch.progress import bar_columns

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None)
    bar = Progress(*bar_columns("batch", width), console=console, auto_refresh=False)
    task = bar.add_task("batch", total=10_000, completed=0, rate=0.0, counts="-")
    counts = "remove 3, escalate 80, label 400, require_disclosure 20, none 1997"
    for done in (100, 2_500):
        time.sleep(0.2)
        bar.update(task, completed=done, rate=12.5, counts=counts)
    console.print(bar.make_tasks_table(bar.tasks))
    return out.getvalue().rstrip("\n")


def test_the_bar_keeps_count_rate_and_eta_at_80_columns_and_less():
    for width in (60, 80, 120):
        line = _render(width)
        assert "2500/10000" in line, (width, line)
        assert "12.5/s" in line, (width, line)
        assert "ETA" in line and ":" in line.split("ETA", 1)[1], (width, line)
        assert "\n" not in line and len(line) <= width, (width, line)
    assert "remove 3, escalate 80" in _render(120)  # room enough: the counts too


def _pty_scan(args: list[str], columns: int) -> tuple[int, str, str]:
    """`aigc scan` with stderr on a pseudo-terminal `columns` wide; (code, stdout, screen)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "scan", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    stdout = proc.stdout.read().decode()
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, stdout, screen.decode(errors="replace")


def test_a_many_file_scan_shows_progress_on_a_terminal_and_a_summary(tmp_path):
    for i in range(12):
        Image.new("RGB", (64, 64), (i * 20, 40, 90)).save(tmp_path / f"img{i:02}.png")
    (tmp_path / "README").write_text("not media")
    code, stdout, screen = _pty_scan(["--json", str(tmp_path)], columns=80)
    assert code == 0, screen
    assert len(stdout.splitlines()) == 12
    assert "scan" in screen and "/12" in screen and "ETA" in screen
    assert "12 files in" in screen and "none 12; 1 skipped, not media" in screen
    # --quiet: nothing at all on the terminal
    code, _stdout, screen = _pty_scan(["--json", "--quiet", str(tmp_path)], columns=80)
    assert code == 0 and screen.strip() == ""
    # not a terminal: no bar, only the summary line
    piped = _aigc("scan", "--json", str(tmp_path))
    assert "ETA" not in piped.stderr and "12 files in" in piped.stderr
