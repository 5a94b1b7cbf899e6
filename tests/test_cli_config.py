"""The configuration file (`aigc.toml`), `aigc config`, `aigc db init` and read-only
commands without a database, as a user meets them: real subprocesses in a fresh folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .cli_run import run_aigc

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without any AIGC_* variable (as in a fresh shell), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    env.update(extra)
    return env


def _aigc(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return run_aigc(*args, cwd=cwd, env=env if env is not None else _env())


def _demo_config(folder: Path) -> None:
    """What scripts/demo.sh writes: the demo's database and watermark key registry."""
    (folder / "aigc.toml").write_text(
        "# written by scripts/demo.sh: the demo's bank and watermark key registry.\n"
        f'database_url = "sqlite:///{folder / "data" / "demo.db"}"\n'
        f'watermark_keys = "{ROOT / "demo" / "watermark-keys.yaml"}"\n'
    )


def test_the_demos_config_gives_the_readmes_next_commands_the_demos_answers(tmp_path):
    _demo_config(tmp_path)
    init = _aigc("db", "init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "created" in init.stdout and "aigc.toml" in init.stdout
    banked = _aigc(
        "bank", "import", str(ROOT / "demo" / "known-fakes.csv"), "--by", "demo", cwd=tmp_path
    )
    assert banked.returncode == 0, banked.stderr

    # the README's next command, from the same folder, with nothing in the environment
    result = _aigc(
        "scan",
        "--json",
        str(SAMPLES / "reupload_known_deepfake.jpg"),
        str(SAMPLES / "watermarked_partner_generator.jpg"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    # the demo's table says the same (README, "Two commands")
    assert rows["reupload_known_deepfake.jpg"]["action"] == "escalate"
    assert "bank.match.misleading_deepfake" in {
        r["code"] for r in rows["reupload_known_deepfake.jpg"]["reasons"]
    }
    assert rows["watermarked_partner_generator.jpg"]["action"] == "label"
    assert rows["watermarked_partner_generator.jpg"]["label"] == "ai_generated"
    assert "2 files" in result.stderr and "escalate 1, label 1" in result.stderr
    assert not (tmp_path / "data" / "aigc.db").exists()


def test_environment_wins_over_the_file_and_config_says_where_each_value_comes_from(tmp_path):
    _demo_config(tmp_path)
    (tmp_path / "aigc.toml").write_text(
        (tmp_path / "aigc.toml").read_text()
        + "scan_concurrency = 3\n"
        + 'webhook_url = "http://127.0.0.1:9/hook"\n'
        + 'webhook_secret = "TEST-ONLY-webhook-secret-value"\n'
    )
    env = _env(
        AIGC_SCAN_CONCURRENCY="5",
        AIGC_METRICS_TOKEN="TEST-ONLY-metrics-token-0123456789",
        AIGC_REDIS_URL="redis://user:TEST-ONLY-pass@127.0.0.1:6379/0",
    )
    result = _aigc("config", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["key"]: r for r in map(json.loads, result.stdout.splitlines())}
    config = str(tmp_path / "aigc.toml")
    assert rows["scan_concurrency"] == {
        "key": "scan_concurrency",
        "variable": "AIGC_SCAN_CONCURRENCY",
        "value": 5,
        "source": "env AIGC_SCAN_CONCURRENCY",
    }
    assert rows["watermark_keys"]["source"] == f"file {config}"
    assert rows["database_url"]["value"].endswith("demo.db")
    assert rows["max_upload_bytes"]["source"] == "default"
    # secrets: whether they are set, never their contents; URL passwords masked
    assert rows["webhook_secret"]["value"] == "(set, hidden)"
    assert rows["metrics_token"]["value"] == "(set, hidden)"
    assert rows["redis_url"]["value"] == "redis://user:***@127.0.0.1:6379/0"
    assert "TEST-ONLY-" not in result.stdout
    text = _aigc("config", "--changed", cwd=tmp_path, env=env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"config file: {config}"
    assert "TEST-ONLY-" not in text.stdout
    assert "max_upload_bytes" not in text.stdout  # --changed: defaults left out


def test_bad_files_and_keys_stop_every_command_with_exit_2(tmp_path):
    (tmp_path / "aigc.toml").write_text('databse_url = "sqlite:///x.db"\n')
    typo = _aigc("scan", str(SAMPLES / "no_credentials.jpg"), cwd=tmp_path)
    assert typo.returncode == 2
    assert "unknown key 'databse_url'; did you mean 'database_url'?" in typo.stderr

    (tmp_path / "aigc.toml").write_text("scan_concurrency = [\n")
    broken = _aigc("config", cwd=tmp_path)
    assert broken.returncode == 2 and "not valid TOML" in broken.stderr

    (tmp_path / "aigc.toml").write_text('scan_concurrency = "many"\n')
    bad = _aigc("config", cwd=tmp_path)
    assert bad.returncode == 2
    assert "scan_concurrency in aigc.toml must be an integer" in bad.stderr

    missing = _aigc("config", cwd=tmp_path, env=_env(AIGC_CONFIG=str(tmp_path / "nope.toml")))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    # AIGC_CONFIG=none: the folder's file is not read at all
    off = _aigc("config", "--json", cwd=tmp_path, env=_env(AIGC_CONFIG="none"))
    assert off.returncode == 0, off.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("bank", "list"),
        ("bank", "export", "out.csv"),
        ("keys", "list"),
        ("keys", "revoke", "abc"),
        ("outbox", "list"),
        ("retro", "status"),
        ("report", "transparency", "--from", "2026-11-01", "--to", "2026-11-30", "--out", "t.json"),
    ],
)
def test_commands_that_only_read_never_create_a_database(tmp_path, args):
    result = _aigc(*args, cwd=tmp_path)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert f"no database at sqlite:///{tmp_path / 'data' / 'aigc.db'}" in result.stderr
    assert "aigc db init" in result.stderr
    assert not (tmp_path / "data").exists()


def test_scan_without_a_database_says_so_and_creates_none(tmp_path):
    result = _aigc("scan", str(SAMPLES / "no_credentials.jpg"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "note: no database at" in result.stderr and "aigc db init" in result.stderr
    assert not (tmp_path / "data").exists()
    quiet = _aigc("scan", "--quiet", str(SAMPLES / "no_credentials.jpg"), cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
