from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import watermark
from watermark import stats


def test_round_trip_recovers_the_payload(marked, key, payload):
    for name, (_, img) in marked.items():
        found = watermark.detect(img, key)
        assert found.detected, name
        assert found.payload == payload, name
        assert found.p_value <= watermark.FALSE_POSITIVE_RATE
        assert found.score >= found.threshold
        assert abs(found.scale - 1.0) < 0.01 and abs(found.rotation) < 0.5 and not found.flipped


def test_every_payload_bit_is_carried(natural, key):
    img = natural("rocket", 512)
    for payload in (bytes(8), b"\xff" * 8, bytes.fromhex("8000000000000001")):
        found = watermark.detect(watermark.embed(img, payload, key), key)
        assert found.payload == payload


def test_imperceptible(marked):
    for name, (orig, img) in marked.items():
        assert peak_signal_noise_ratio(orig, img) >= 42.0, name
        assert structural_similarity(orig, img, channel_axis=2) >= 0.98, name


def test_flat_areas_stay_clean(natural, key, payload):
    img = natural("astronaut", 512)
    img[:128, :] = 120  # a flat band: the mask must leave it (almost) alone
    delta = np.abs(watermark.embed(img, payload, key).astype(int) - img.astype(int))
    # away from the band's edge (where the texture next door spills over) nothing moves
    assert delta[8:100, :].max() <= 1
    assert delta[8:100, :].mean() < 0.1 * delta[200:, :].mean()


def test_luminance_only(marked):
    orig, img = marked["coffee"]
    d = img.astype(int) - orig.astype(int)
    # the same change on R, G and B (up to clipping): chroma is left alone
    same = (d[..., 0] == d[..., 1]) & (d[..., 1] == d[..., 2])
    assert same.mean() > 0.95


def test_wrong_key_is_not_detected(marked, other_key):
    for name, (_, img) in marked.items():
        found = watermark.detect(img, other_key)
        assert not found.detected and found.payload is None, name
        assert found.score < found.threshold


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "camera", "brick", "grass"])
def test_unmarked_images_are_not_detected(name, natural, key):
    img = natural(name, 640)
    for view in (img, img[40:600, 60:500]):
        found = watermark.detect(np.ascontiguousarray(view), key)
        assert not found.detected
        assert found.p_value > 1e-3


def test_threshold_is_the_bonferroni_bound(natural, key):
    found = watermark.detect(natural("coffee", 512), key)
    h = found.hypotheses
    assert h >= 8 * 128 * 128  # every shift of every dihedral transform, at least
    # two rules (pilot alone; pilot + decoded payload), each at half the rate
    half = watermark.FALSE_POSITIVE_RATE / 2
    assert stats.p_value(found.threshold, h) == pytest.approx(half)
    assert stats.p_value(found.payload_threshold, h * 2**64) == pytest.approx(half)
    assert found.payload_score is None  # nothing decoded on an unmarked image
    assert found.p_value == pytest.approx(min(1.0, 2 * h * math.exp(-(found.score**2) / 2)))


def test_frames_pool_evidence(marked, key, payload):
    _, img = marked["astronaut"]
    rng = np.random.default_rng(1)
    noisy = [np.clip(img + rng.normal(0, 90, img.shape), 0, 255).astype(np.uint8) for _ in range(4)]
    # one frame this noisy is beyond the detector; four frames of it are not
    one = watermark.detect(noisy[0], key)
    clip = watermark.detect_frames(noisy, key)
    assert clip.frames == 4
    assert not one.detected
    assert clip.detected and clip.payload == payload


def test_embed_frames_marks_every_frame(natural, key, payload):
    frames = [natural("coffee", 400), natural("chelsea", 400)[:, :300]]
    frames[1] = np.ascontiguousarray(frames[1])
    out = watermark.embed_frames(frames, payload, key)
    assert [f.shape for f in out] == [f.shape for f in frames]
    for f in out:
        assert watermark.detect(f, key).payload == payload


def test_detect_keys_equals_one_detect_per_key(marked, key, other_key, payload):
    _, img = marked["coffee"]
    # a crop makes the estimated lattices (and their shared folds) matter
    h, w = img.shape[:2]
    view = np.ascontiguousarray(img[h // 6 :, w // 5 :])
    third = b"a-third-test-key-not-a-secret..."
    together = watermark.detect_keys([view], [other_key, key, third])
    alone = [watermark.detect(view, k) for k in (other_key, key, third)]
    assert [d.detected for d in together] == [False, True, False]
    assert together[1].payload == payload
    for a, b in zip(together, alone, strict=True):
        assert a.detected == b.detected and a.payload == b.payload
        assert a.score == pytest.approx(b.score, abs=1e-9)
        assert a.hypotheses == b.hypotheses


def test_detect_keys_checks_every_key():
    img = np.zeros((300, 300, 3), np.uint8)
    with pytest.raises(watermark.BadKey):
        watermark.detect_keys([img], [b"a-valid-test-key-0123", b"short"])
