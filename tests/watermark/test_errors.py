from __future__ import annotations

import numpy as np
import pytest

import watermark
from watermark import ecc

IMG = np.full((300, 300, 3), 128, dtype=np.uint8)
TEST_KEY = b"errors-test-key-not-a-secret!!"
PAYLOAD = bytes.fromhex("0123456789abcdef")


@pytest.mark.parametrize("payload", [b"", b"1234567", b"123456789", "01234567", None])
def test_bad_payload(payload):
    with pytest.raises(watermark.BadPayload):
        watermark.embed(IMG, payload, TEST_KEY)


@pytest.mark.parametrize("key", [b"", b"short", "a-string-key-not-bytes", None, 12345])
def test_bad_key(key):
    with pytest.raises(watermark.BadKey):
        watermark.embed(IMG, PAYLOAD, key)
    with pytest.raises(watermark.BadKey):
        watermark.detect(IMG, key)


@pytest.mark.parametrize("shape", [(255, 400, 3), (400, 100, 3), (10, 10, 3), (0, 300, 3)])
def test_too_small_is_refused_for_embedding_and_answered_for_detection(shape):
    """A mark cannot be put in; looking for one is an answer: not there, and why."""
    img = np.zeros(shape, dtype=np.uint8)
    with pytest.raises(watermark.ImageTooSmall):
        watermark.embed(img, PAYLOAD, TEST_KEY)
    h, w = shape[:2]
    for found in (
        watermark.detect(img, TEST_KEY),
        watermark.detect(img, TEST_KEY, thorough=True),
        watermark.detect_frames([img, img], TEST_KEY),
        *watermark.detect_keys([img], [TEST_KEY, TEST_KEY[::-1]]),
    ):
        assert not found.detected and found.payload is None and found.p_value == 1.0
        assert found.hypotheses == 0  # nothing searched, nothing counted
        assert found.reason == (
            f"too small to carry a mark: {w} x {h} px, at least 256 x 256 needed"
        )
    # a key is still checked (a bad key is the caller's error, whatever the image)
    with pytest.raises(watermark.BadKey):
        watermark.detect(img, b"short")


@pytest.mark.parametrize("shape", [(257, 70000, 3), (20000, 1200, 3), (256, 4200, 3)])
def test_a_panorama_too_narrow_is_refused_for_embedding_and_answered_for_detection(shape):
    """Over 16:1 the short side is under a quarter tile at the mark's 512 px reference:
    the same answer as too small, never a failure inside the search."""
    img = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    with pytest.raises(watermark.ImageTooSmall):
        watermark.embed(img, PAYLOAD, TEST_KEY)
    h, w = shape[:2]
    for found in (watermark.detect(img, TEST_KEY), watermark.detect(img, TEST_KEY, thorough=True)):
        assert not found.detected and found.hypotheses == 0
        assert found.reason == (
            f"too narrow to carry a mark: {w} x {h} px, "
            "the long side at most 16 times the short one"
        )


def test_a_panorama_at_the_limit_is_searched():
    img = np.random.default_rng(4).integers(0, 256, (256, 4096, 3), dtype=np.uint8)
    for thorough in (False, True):
        found = watermark.detect(img, TEST_KEY, thorough=thorough)
        assert not found.detected and found.reason is None and found.hypotheses > 0


def test_a_searched_image_has_no_reason():
    found = watermark.detect(np.zeros((256, 256, 3), np.uint8), TEST_KEY)
    assert not found.detected and found.reason is None and found.hypotheses > 0


@pytest.mark.parametrize(
    "img",
    [
        np.zeros((300, 300), dtype=np.uint8),
        np.zeros((300, 300, 4), dtype=np.uint8),
        np.zeros((300, 300, 3), dtype=np.float32),
        [[0, 0, 0]],
    ],
)
def test_bad_image(img):
    with pytest.raises(watermark.BadImage):
        watermark.embed(img, PAYLOAD, TEST_KEY)
    with pytest.raises(watermark.BadImage):
        watermark.detect(img, TEST_KEY)


def test_errors_are_one_family():
    for cls in (
        watermark.BadPayload,
        watermark.BadKey,
        watermark.BadImage,
        watermark.ImageTooSmall,
    ):
        assert issubclass(cls, watermark.WatermarkError)
    with pytest.raises(watermark.BadImage):
        watermark.detect_frames([], TEST_KEY)


def test_hostile_arrays_do_not_crash():
    # flat, saturated and pure-noise images give a clean "not detected"
    rng = np.random.default_rng(0)
    for img in (
        np.zeros((256, 256, 3), np.uint8),
        np.full((256, 4000, 3), 255, np.uint8),
        rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
    ):
        found = watermark.detect(img, TEST_KEY)
        assert not found.detected
    marked = watermark.embed(np.zeros((256, 256, 3), np.uint8), PAYLOAD, TEST_KEY)
    assert marked.shape == (256, 256, 3)


def test_ecc_corrects_noise_and_checksum_catches_garbage():
    coded = ecc.encode(PAYLOAD).astype(float) * 2 - 1
    rng = np.random.default_rng(3)
    flips = rng.choice(coded.size, 20, replace=False)
    noisy = coded.copy()
    noisy[flips] *= -1
    payload, errors = ecc.decode(noisy)
    assert payload == PAYLOAD and errors == 20
    garbage = rng.normal(size=coded.size)
    assert sum(ecc.decode(rng.normal(size=coded.size))[0] is not None for _ in range(50)) == 0
    assert ecc.decode(garbage)[1] == -1
