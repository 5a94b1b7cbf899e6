"""The service's one settings object: typed, read once, a bad value refused by its name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from service.settings import Settings, SettingsError


def _aigc(args: list[str], **env: str) -> subprocess.CompletedProcess:
    exe = shutil.which("aigc")
    command = [exe] if exe else [sys.executable, "-c", "from service.cli import main; main()"]
    return subprocess.run(
        [*command, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "1"],
        ["batch", "missing-folder", "--report", "out.csv"],
        ["bank", "list"],
    ],
)
def test_a_bad_value_stops_a_command_with_status_2_and_one_line(args, tmp_path):
    result = _aigc(
        args, AIGC_SCAN_CONCURRENCY="abc", AIGC_DATABASE_URL=f"sqlite:///{tmp_path}/a.db"
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "AIGC_SCAN_CONCURRENCY" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("AIGC_SCAN_CONCURRENCY", "abc", "must be an integer"),
        ("AIGC_SCAN_TIMEOUT_S", "1.5", "must be an integer"),
        ("AIGC_CREATOR_PAGE_OPEN", "maybe", "must be one of"),
        ("AIGC_METRICS_OPEN", "2", "must be one of"),
        ("AIGC_BATCH_WORKERS", "0", "at least 1"),
        ("AIGC_BATCH_FILE_TIMEOUT", "-1", "positive"),
        ("AIGC_BATCH_CONCURRENT_JOBS", "many", "must be an integer"),
    ],
)
def test_bad_values_are_one_line_naming_the_variable(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words) as caught:
        Settings.from_env()
    assert str(caught.value).startswith(name) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("off", False)],
)
def test_one_boolean_parser(monkeypatch, value, expected):
    monkeypatch.setenv("AIGC_CREATOR_PAGE_OPEN", value)
    assert Settings.from_env().creator_page_open is expected


def test_empty_is_unset_and_capacity_values_are_raised_to_their_floor(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIGC_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIGC_SCAN_QUEUE", "")
    monkeypatch.setenv("AIGC_SCAN_CONCURRENCY", "0")
    monkeypatch.setenv("AIGC_ANALYSIS_MEMORY_MB", "-5")
    monkeypatch.setenv("AIGC_BATCH_ROOT", str(tmp_path))
    settings = Settings.from_env()
    assert settings.scan_queue == 32
    assert settings.scan_concurrency == 1 and settings.analysis_memory_mb == 0
    assert settings.batch_root == str(tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'aigc.db'}"


def test_keywords_win_over_the_environment_and_the_object_is_frozen(monkeypatch):
    monkeypatch.setenv("AIGC_SCAN_QUEUE", "7")
    monkeypatch.setenv("AIGC_MAX_CONNECTIONS", "30")
    settings = Settings(max_connections=40)
    assert (settings.scan_queue, settings.max_connections) == (7, 40)
    with pytest.raises(ValueError):
        settings.scan_queue = 8  # type: ignore[misc]
