"""Watermarked videos: `aigc watermark embed` on an MP4, detection pooled over the
sampled frames, surviving a CRF 30 re-encode, a 480p downscale and trimming."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import labeler
from labeler import Engine
from labeler.signals.watermark.keys import KeyRegistry, RegisteredKey
from labeler.video import probe_video
from service.cli import app
from service.media_encode import reencode

from .conftest import SCENES

TEST_KEY_HEX = "746573742d6b65792d6e6f742d736563726574"  # "test-key-not-secret"
PAYLOAD = "0123456789abcdef"


def _aigc(*args, cwd=None):
    # in-process: an interpreter start per call costs more than the work here
    result = CliRunner().invoke(app, [str(a) for a in args])
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


@pytest.fixture(scope="module")
def clips(make_clip, tmp_path_factory):
    """A 4 s 720p source and its marked copy, marked through the CLI as a user would."""
    folder = tmp_path_factory.mktemp("wm")
    (folder / "key.hex").write_text(TEST_KEY_HEX)
    source = folder / "source.mp4"
    source.write_bytes(make_clip(scenes=SCENES[:2], size=(1280, 720)))
    marked = folder / "marked.mp4"
    result = _aigc(
        "watermark", "embed", str(source), str(marked), "--payload", PAYLOAD,
        "--key-file", str(folder / "key.hex"), cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder, source, marked


@pytest.fixture(scope="module")
def engine():
    key = RegisteredKey("test", "platform", "ai_generated", bytes.fromhex(TEST_KEY_HEX))
    return Engine(watermark_keys=KeyRegistry((key,)))


def test_cli_marks_every_frame_and_detects_the_payload(clips):
    folder, source, marked = clips
    source_probe, marked_probe = probe_video(source.read_bytes()), probe_video(marked.read_bytes())
    # same length, rate and size: the mark changes pixels, not the video
    assert marked_probe.duration_s == pytest.approx(source_probe.duration_s, abs=0.01)
    assert (marked_probe.fps, marked_probe.width, marked_probe.height) == (10.0, 1280, 720)
    result = _aigc(
        "watermark", "detect", "--json", "--key-file", str(folder / "key.hex"),
        str(marked), str(source), cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["detected"] is True and rows[0]["payload"] == PAYLOAD
    assert rows[1]["detected"] is False


def test_image_output_name_for_a_video_is_a_clear_error(clips):
    folder, source, _ = clips
    result = _aigc(
        "watermark", "embed", str(source), str(folder / "out.png"), "--payload", PAYLOAD,
        "--key-file", str(folder / "key.hex"), cwd=folder,
    )  # fmt: skip
    assert result.returncode == 1
    assert ".mp4" in result.stderr


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param({"crf": 30}, id="crf30"),
        pytest.param({"crf": 23, "max_height": 480}, id="480p"),
        pytest.param({"crf": 23, "start_s": 1.0, "end_s": 3.0}, id="trimmed"),
    ],
)
def test_mark_survives_re_shares(clips, engine, attack):
    _, _, marked = clips
    copy = reencode(marked.read_bytes(), **attack)
    decision = labeler.analyze(copy, "copy.mp4", engine=engine)
    mark = decision.signals["watermark"]
    assert mark["detected"] is True and mark["payload_hex"] == PAYLOAD
    assert mark["p_value"] < 1e-9


def test_unmarked_video_is_not_detected(clips, engine):
    _, source, _ = clips
    mark = labeler.analyze(source.read_bytes(), engine=engine).signals["watermark"]
    assert mark["detected"] is False
