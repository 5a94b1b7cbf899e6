"""Videos through the same entry points as images: C2PA on MP4 (BMFF hash), scan CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import labeler
from labeler import Engine, MediaDecodeError
from labeler.signals.credentials import settings_from_env


@pytest.fixture(scope="module")
def engine():
    # credentials only: the bank and watermark keys of the environment stay out
    return Engine(credentials=settings_from_env())


def _credentials(decision) -> dict:
    return decision.signals["credentials"]


def test_signed_video_credentials_are_read(fixtures_dir, engine):
    decision = labeler.analyze((fixtures_dir / "video1.mp4").read_bytes(), engine=engine)
    assert decision.media["kind"] == "video" and decision.media["mime"] == "video/mp4"
    creds = _credentials(decision)
    assert creds["present"] and creds["state"] in ("valid", "trusted")
    assert "assertion.bmffHash.mismatch" not in creds["failure_codes"]
    assert "c2pa-rs" in creds["claim_generator"]


def test_legacy_video_manifest_is_read(fixtures_dir, engine):
    creds = _credentials(labeler.analyze((fixtures_dir / "legacy.mp4").read_bytes(), engine=engine))
    assert creds["present"] and creds["state"] == "valid"
    assert "signingCredential.untrusted" in creds["failure_codes"]


def test_video_without_manifest_has_no_credentials_and_no_error(fixtures_dir, engine):
    decision = labeler.analyze(
        (fixtures_dir / "video1_no_manifest.mp4").read_bytes(), engine=engine
    )
    assert _credentials(decision)["present"] is False
    assert _credentials(decision)["error"] is None
    assert not decision.signals["errors"]


def test_edited_video_pixels_break_the_bmff_hash(fixtures_dir, engine):
    data = bytearray((fixtures_dir / "video1.mp4").read_bytes())
    at = data.find(b"mdat") + 400_000
    data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
    creds = _credentials(labeler.analyze(bytes(data), engine=engine))
    assert creds["state"] == "invalid"
    assert "assertion.bmffHash.mismatch" in creds["failure_codes"]


def test_hostile_video_is_a_typed_error_through_analyze(fixtures_dir, engine):
    with pytest.raises(MediaDecodeError):
        labeler.analyze((fixtures_dir / "nested_moov_1000.mp4").read_bytes(), engine=engine)


def test_scan_cli_reports_videos_and_hostile_files(fixtures_dir, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "scan",
            "--json",
            str(fixtures_dir / "video1.mp4"),
            str(fixtures_dir / "nested_moov_1000.mp4"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["video1.mp4"]["media"]["kind"] == "video"
    assert rows["video1.mp4"]["signals"]["credentials"]["present"] is True
    assert rows["nested_moov_1000.mp4"]["error"]["code"] == "media_decode_error"
