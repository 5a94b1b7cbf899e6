"""Cropped, captioned and zoomed re-uploads of a banked video: local features on keyframes."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
from sqlalchemy import update

import labeler
import matching
from labeler import Engine
from labeler.media import decode
from labeler.signals.match.video import prepare, reference_prints
from matching.video import KEYFRAME_INTERVAL_S, QUERY_FRAMES, Keyframes, VideoIndex
from service import bank
from service.db import bank_source
from service.db.bank_video import BankVideoKeyframesRow
from service.db.base import session_scope
from service.media_encode import crop_transform, reencode

from .conftest import OTHER_SCENES, SCENES


@pytest.fixture(scope="module")
def known_fake(make_clip):
    return make_clip(scenes=SCENES[:3], seconds_per_scene=3.0, size=(480, 272))


@pytest.fixture(scope="module")
def other(make_clip):
    return make_clip(scenes=OTHER_SCENES[:3], seconds_per_scene=3.0, size=(480, 272))


def caption_bar(rgb, _index):
    out = rgb.copy()
    out[: rgb.shape[0] // 5] = (250, 250, 250)
    return out


def _query(data: bytes):
    return prepare(decode(data, "upload.mp4"), features=True)


@pytest.fixture(scope="module")
def index(known_fake, other):
    out = VideoIndex()
    out.add("fake", *reference_prints(known_fake))
    out.add("other", *reference_prints(other))
    return out


def test_keyframes_are_one_a_second_and_survive_their_blob(known_fake):
    fp, keyframes = reference_prints(known_fake)
    assert len(fp.frames) > len(keyframes) >= 8
    gaps = np.diff(keyframes.times)
    assert gaps.min() >= KEYFRAME_INTERVAL_S - 1e-6 and gaps.max() < 1.5
    back = Keyframes.from_blob(keyframes.to_blob())
    assert back.times == keyframes.times
    assert all(
        np.array_equal(a.descriptors, b.descriptors)
        for a, b in zip(back.features, keyframes.features, strict=True)
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b[:3],
        lambda b: b"NOPE" + b[4:],
        lambda b: b[:-5],
        lambda b: b + b"\x00",
        lambda b: b[:4] + (10**6).to_bytes(4, "little") + b[8:],
    ],
    ids=["truncated-header", "magic", "truncated-body", "trailing", "count"],
)
def test_a_corrupt_keyframes_blob_is_a_typed_error(known_fake, mangle):
    blob = reference_prints(known_fake)[1].to_blob()
    with pytest.raises(matching.InvalidFeatures):
        Keyframes.from_blob(mangle(blob))


@pytest.mark.parametrize(
    "name, transform, crf",
    [
        ("crop 80%, centred", crop_transform(0.8), 28),
        ("crop 60%, corner", crop_transform(0.6, 0.0, 1.0), 32),
        ("caption bar over a fifth", caption_bar, 30),
    ],
)
def test_cropped_copies_are_found_by_keyframes_where_vpdq_fails(
    index, known_fake, name, transform, crf
):
    upload = reencode(known_fake, transform, crf=crf, max_height=240, start_s=1.0, end_s=8.0)
    fp, frames = _query(upload)
    assert 2 <= len(frames) <= QUERY_FRAMES
    whole_frames = index.lookup(fp)
    assert not any(m.matched for _, m in whole_frames), name
    (entry_id, match), *_ = index.lookup(fp, frames=frames)
    assert entry_id == "fake" and match.matched, name
    assert match.stage == "local_features" and match.inliers >= 14
    assert match.query_contained >= 0.6
    # cut from 1 s to 8 s of a 9 s video: most of it, not all
    assert 0.5 < match.reference_contained < 1.0


def test_a_mirrored_and_cropped_copy_is_found_on_the_mirrored_side(index, known_fake):
    crop = crop_transform(0.7, 0.4, 0.6)
    upload = reencode(known_fake, lambda rgb, i: crop(rgb[:, ::-1], i), crf=30)
    fp, frames = _query(upload)
    assert not any(m.matched for _, m in index.lookup(fp))
    (entry_id, match), *_ = index.lookup(fp, frames=frames)
    assert entry_id == "fake" and match.matched
    assert match.stage == "local_features" and match.transform == "mirror"


def test_distinct_clips_and_uncropped_copies_keep_their_answers(index, known_fake, other):
    fp, frames = _query(reencode(other, crop_transform(0.7), crf=30))
    (entry_id, match), *_ = index.lookup(fp, frames=frames)
    assert entry_id == "other"
    fresh = VideoIndex()
    fresh.add("fake", *reference_prints(known_fake))
    assert not any(m.matched for _, m in fresh.lookup(fp, frames=frames))
    # a plain re-encode still matches by its whole frames, first
    fp, frames = _query(reencode(known_fake, crf=30))
    (entry_id, match), *_ = index.lookup(fp, frames=frames)
    assert entry_id == "fake" and match.stage == "vpdq"


def test_concurrent_first_lookups_equal_a_single_threaded_one(known_fake, other):
    queries = [_query(reencode(known_fake, crop_transform(0.7, 0.2, 0.8), crf=30)), _query(other)]
    fresh = VideoIndex()
    fresh.add("fake", *reference_prints(known_fake))
    results, errors = {}, []

    def run(i):
        try:
            fp, frames = queries[i % 2]
            results[i] = fresh.lookup(fp, frames=frames)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    alone = VideoIndex()
    alone.add("fake", *reference_prints(known_fake))
    for i, got in results.items():
        fp, frames = queries[i % 2]
        assert got == alone.lookup(fp, frames=frames)
    assert results[0][0][1].matched and not any(m.matched for _, m in results[1])


def test_a_cropped_reupload_of_a_bank_entry_is_matched_end_to_end(known_fake):
    entry = bank.add_entry(known_fake, filename="fake.mp4", category="misleading_deepfake")
    upload = reencode(
        known_fake, crop_transform(0.7, 0.3, 0.6), crf=30, max_height=240, start_s=2.0
    )
    decision = labeler.analyze(upload, "upload.mp4", engine=Engine(bank=bank_source.from_env()))
    match = decision.signals["match"]
    assert match["matched"] and match["entry_id"] == str(entry.id)
    assert match["stage"] == "video" and match["hash_type"] == "orb"
    assert "bank.match.misleading_deepfake" in decision.reason_codes
    bank.remove_entry(entry.id)
    labeler.reset_default_engine()
    after = labeler.analyze(upload, "upload.mp4", engine=Engine(bank=bank_source.from_env()))
    assert after.signals["match"]["matched"] is False


def test_unreadable_keyframes_fall_back_to_vpdq(known_fake, caplog):
    entry = bank.add_entry(known_fake, category="misleading_deepfake")
    with session_scope(None) as session:
        session.execute(
            update(BankVideoKeyframesRow)
            .where(BankVideoKeyframesRow.entry_id == entry.id)
            .values(keyframes=b"KEY1garbage")
        )
    engine = Engine(bank=bank_source.from_env())
    with caplog.at_level(logging.WARNING):
        cropped = labeler.analyze(reencode(known_fake, crop_transform(0.6), crf=30), engine=engine)
    assert cropped.signals["match"]["matched"] is False
    assert "unreadable keyframes" in caplog.text
    plain = labeler.analyze(reencode(known_fake, crf=30), engine=engine)
    assert plain.signals["match"]["matched"] and plain.signals["match"]["hash_type"] == "vpdq"


def test_longer_uploads_bring_more_frames_within_a_cap():
    from matching.video_local import MAX_QUERY_FRAMES, QUERY_SPACING_S, query_count

    assert query_count(0.0) == query_count(9.0) == QUERY_FRAMES
    assert query_count(60.0) == round(60.0 / QUERY_SPACING_S)
    assert query_count(900.0) == MAX_QUERY_FRAMES
