"""Video bank entries end to end: `add_entry` on an MP4, then uploads scanned against it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import labeler
from labeler import Engine
from service import bank
from service.cli import app
from service.db import bank_source
from service.media_encode import encode_frames, reencode

from .conftest import OTHER_SCENES, SCENES


@pytest.fixture(scope="module")
def known_fake(make_clip):
    return make_clip(scenes=SCENES, size=(320, 240))


def _engine() -> Engine:
    return Engine(bank=bank_source.from_env())


def test_clip_of_a_banked_video_is_matched_with_containment(known_fake):
    entry = bank.add_entry(known_fake, filename="fake.mp4", category="misleading_deepfake")
    clip = reencode(known_fake, crf=30, start_s=4.4, end_s=9.4)
    decision = labeler.analyze(clip, "clip.mp4", engine=_engine())
    match = decision.signals["match"]
    assert match["matched"] and match["entry_id"] == str(entry.id)
    assert match["category"] == "misleading_deepfake"
    assert match["stage"] == "video" and match["hash_type"] == "vpdq"
    assert match["query_contained"] >= 0.8 and match["reference_contained"] < 0.6
    assert "bank.match.misleading_deepfake" in decision.reason_codes


def test_unrelated_video_and_removed_entries_do_not_match(known_fake, make_clip):
    entry = bank.add_entry(known_fake, category="misleading_deepfake")
    other = make_clip(scenes=OTHER_SCENES, size=(320, 240))
    assert labeler.analyze(other, engine=_engine()).signals["match"]["matched"] is False
    bank.remove_entry(entry.id)
    clip = reencode(known_fake, crf=30, start_s=2.0, end_s=6.0)
    assert labeler.analyze(clip, engine=_engine()).signals["match"]["matched"] is False


def test_a_still_of_a_banked_video_matches_as_an_image(known_fake):
    import io

    from PIL import Image

    from labeler.media import decode

    bank.add_entry(known_fake, category="known_aigc")
    # the entry's image hash is its clearest sampled frame; any such frame matches
    frame = decode(known_fake).frames[0]
    still = io.BytesIO()
    Image.fromarray(frame).save(still, "PNG")
    assert labeler.analyze(still.getvalue(), engine=_engine()).signals["match"]["matched"]


def test_flat_video_is_refused_as_a_bank_entry():
    blank = encode_frames([np.full((64, 64, 3), 20, np.uint8)] * 10, fps=5)
    with pytest.raises(bank.LowQuality):
        bank.add_entry(blank, category="known_aigc")


def test_hostile_video_is_refused_as_a_bank_entry(fixtures_dir):
    with pytest.raises(bank.InvalidMedia):
        bank.add_entry((fixtures_dir / "nested_moov_1000.mp4").read_bytes(), category="known_aigc")


def test_bank_cli_adds_a_video_and_scan_finds_a_clip(known_fake, tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(known_fake)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(reencode(known_fake, crf=28, start_s=6.0))

    def aigc(*args):
        # in-process (an interpreter start costs more than the work); the
        # default engine is rebuilt so it reads this test's database
        labeler.reset_default_engine()
        return CliRunner().invoke(app, [str(a) for a in args])

    added = aigc("bank", "add", str(fake), "--category", "misleading_deepfake")
    assert added.exit_code == 0, added.output
    scanned = aigc("scan", "--json", str(clip))
    assert scanned.exit_code == 0, scanned.output
    row = json.loads(scanned.stdout.splitlines()[0])
    assert row["signals"]["match"]["matched"] is True
    assert row["action"] != "none"
