"""vPDQ-style video fingerprints: clips cut out of a known video are found, others are not."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.signals.match.video import REFERENCE_LIMITS
from labeler.video import VideoLimits, decode_video
from matching.video import (
    MatchRule,
    VideoFingerprint,
    VideoFingerprintError,
    VideoIndex,
    compare,
    fingerprint,
)
from service.media_encode import reencode

from .conftest import OTHER_SCENES, SCENES

# references are hashed densely so that any moment a clip samples has a
# reference frame a fraction of a second away (PDQ moves fast under motion)
REFERENCE = REFERENCE_LIMITS  # 5 fps, every frame decoded
UPLOAD = VideoLimits(sample_fps=1)


def _fp(data: bytes, limits: VideoLimits) -> VideoFingerprint:
    video = decode_video(data, limits)
    return fingerprint(video.frames, video.timestamps)


@pytest.fixture(scope="module")
def known(make_clip):
    """A 12 s 'known fake' of six scenes and its dense reference fingerprint."""
    data = make_clip(scenes=SCENES, size=(320, 240))
    return data, _fp(data, REFERENCE)


@pytest.fixture(scope="module")
def unrelated(make_clip):
    return make_clip(scenes=OTHER_SCENES, size=(320, 240))


def test_clip_cut_out_of_a_known_video_matches(known):
    data, reference = known
    clip = reencode(data, crf=30, start_s=3.3, end_s=8.3)  # 5 s, re-encoded
    match = compare(_fp(clip, UPLOAD), reference)
    assert match.matched
    assert match.query_contained >= 0.8  # the clip lies inside the reference
    assert match.reference_contained < 0.6  # but covers under half of it
    assert match.offset_s == pytest.approx(3.3, abs=0.25)
    assert match.transform == "original" and match.best_distance <= 31


def test_upload_containing_the_whole_known_video_matches(known, make_clip):
    _, reference = known
    short = make_clip(scenes=SCENES[1:3], size=(320, 240))
    # reversed roles: the bank holds the short video, the upload is the long one
    match = compare(_fp(known[0], UPLOAD), _fp(short, REFERENCE))
    assert match.matched
    # measured by the upload's sparse samples (every ~0.7 s here), so lower
    # than the other direction's: still above the match rule's 0.6
    assert match.reference_contained >= 0.6 and match.query_contained < 0.4


def test_unrelated_videos_do_not_match(known, unrelated):
    match = compare(_fp(unrelated, UPLOAD), known[1])
    assert not match.matched
    assert match.query_matched == 0 and match.best_distance > 31
    assert match.offset_s is None and match.transform is None


def test_mirrored_copy_matches_through_a_dihedral_variant(known):
    data, reference = known
    mirrored = reencode(data, lambda rgb, i: np.ascontiguousarray(rgb[:, ::-1]), crf=28)
    query = _fp(mirrored, UPLOAD)
    match = compare(query, reference)
    assert match.matched and match.transform == "flip_horizontal"
    assert not compare(query, reference, MatchRule(dihedral=False)).matched


def test_flat_frames_and_repeats_are_dropped():
    black = [np.zeros((64, 64, 3), np.uint8)] * 3
    assert len(fingerprint(black)) == 0 and fingerprint(black).dropped_low_quality == 3
    rng = np.random.default_rng(7)
    still = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    noisy = np.clip(still.astype(int) + rng.integers(-2, 3, still.shape), 0, 255).astype(np.uint8)
    other = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    fp = fingerprint([still, noisy, other], [0.0, 1.0, 2.0])
    assert len(fp) == 2 and fp.dropped_duplicates == 1
    assert [f.time_s for f in fp.frames] == [0.0, 2.0]


def test_a_fingerprint_without_frames_never_matches(known):
    empty = fingerprint([np.zeros((64, 64, 3), np.uint8)])
    assert not compare(empty, known[1]).matched
    assert not compare(known[1], empty).matched


def test_bad_frames_are_a_typed_error():
    with pytest.raises(VideoFingerprintError):
        fingerprint([np.zeros((64, 64), np.float32)])
    with pytest.raises(VideoFingerprintError):
        fingerprint([np.zeros((8, 8, 3), np.uint8)])


def test_stored_form_round_trips_and_rejects_corruption(known):
    reference = known[1]
    stored = VideoFingerprint.from_dict(reference.to_dict())
    assert [f.pdq for f in stored.frames] == [f.pdq for f in reference.frames]
    assert stored.interval_s == pytest.approx(0.2)
    assert compare(stored, reference).query_contained == 1.0
    for bad in ({"version": 2}, {"version": 1, "frames": [["zz", 80, 0.0]]}, {"version": 1}):
        with pytest.raises(VideoFingerprintError):
            VideoFingerprint.from_dict(bad)


def test_index_finds_the_right_entry(known, unrelated, make_clip):
    data, reference = known
    index = VideoIndex()
    index.add("known-fake", reference)
    index.add("unrelated", _fp(unrelated, REFERENCE))
    clip = reencode(data, crf=30, start_s=6.0, end_s=10.0)
    results = index.lookup(_fp(clip, UPLOAD))
    assert [entry for entry, m in results if m.matched] == ["known-fake"]
    assert index.lookup(_fp(make_clip(scenes=("grass", "gravel"), size=(320, 240)), UPLOAD)) == []
    with pytest.raises(VideoFingerprintError, match="already"):
        index.add("known-fake", reference)
    with pytest.raises(VideoFingerprintError, match="quality"):
        index.add("blank", fingerprint([np.zeros((64, 64, 3), np.uint8)]))


def test_letterboxed_vertical_repost_matches(known):
    data, reference = known

    def pad(rgb, _i):  # the 4:3 picture inside black bars of a 2:3 frame
        h, w = rgb.shape[:2]
        out = np.zeros((2 * h, w, 3), np.uint8)
        out[h // 2 : h // 2 + h] = rgb
        return out

    repost = reencode(data, pad, crf=28, start_s=2.2, end_s=7.2)
    video = decode_video(repost, UPLOAD)
    assert video.frames[0].shape[:2] == (480, 320)
    match = compare(fingerprint(video.frames, video.timestamps), reference)
    assert match.matched and match.query_contained >= 0.8
    boxed = fingerprint(video.frames, video.timestamps, strip_bars=False)
    assert not compare(boxed, reference).matched
