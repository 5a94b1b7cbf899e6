"""Large uploads decoded at reduced scale still give the same signals."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import watermark
from labeler import Engine
from labeler.media import decode
from labeler.signals import MatchSignal, WatermarkSignal
from labeler.signals.watermark.keys import KeyRegistry, RegisteredKey
from service import bank as store
from service.db import bank_source

TEST_KEY = bytes(range(7, 39))  # a test key, named as such
PAYLOAD = bytes.fromhex("00c0ffee00004000")


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _photo(name: str, width: int, height: int) -> np.ndarray:
    # enlarged with a little noise, as a camera's own grain would be
    big = cv2.resize(getattr(skdata, name)(), (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(5).normal(0, 3, big.shape)
    return np.clip(big + noise, 0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def _fresh_caches():
    bank_source.drop_caches()
    yield
    bank_source.drop_caches()


def test_watermark_reads_on_a_4000_px_upload_decoded_at_quarter_scale():
    upload = _jpeg(watermark.embed(_photo("astronaut", 4000, 3000), PAYLOAD, TEST_KEY), 88)
    media = decode(upload)
    assert media.frames[0].shape == (750, 1000, 3) and (media.width, media.height) == (4000, 3000)
    registry = KeyRegistry((RegisteredKey("gen", "Gen", "ai_generated", TEST_KEY),))
    decision = Engine(watermark_keys=registry).analyze(upload, "big.jpg")
    signal = WatermarkSignal.from_dict(decision.signals["watermark"])
    assert signal.detected and signal.payload_hex == PAYLOAD.hex() and signal.p_value <= 1e-9
    assert decision.media["width"] == 4000  # the upload's size, not the decoded one


def test_banked_media_matches_across_reduced_and_full_size_decodes():
    # an entry banked from a small copy is found in a large upload, and the reverse
    store.add_entry(_jpeg(_photo("astronaut", 1024, 768), 92), category="misleading_deepfake")
    store.add_entry(_jpeg(_photo("coffee", 6000, 4000), 92), category="known_aigc")
    engine = Engine(bank=bank_source.from_env())
    large = engine.analyze(_jpeg(_photo("astronaut", 4096, 3072), 85), "large.jpg")
    match = MatchSignal.from_dict(large.signals["match"])
    assert match.matched and match.category == "misleading_deepfake" and match.distance <= 12
    small = engine.analyze(_jpeg(_photo("coffee", 900, 600), 80), "small.jpg")
    match = MatchSignal.from_dict(small.signals["match"])
    assert match.matched and match.category == "known_aigc" and match.distance <= 12
    assert large.action == "escalate"


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_hashes_of_a_reduced_decode_stay_next_to_those_of_the_full_image(name):
    """Bank entries hashed from full-size pixels still match uploads decoded reduced."""
    import matching
    from matching.codes import hamming

    for width, height in ((1920, 1080), (4000, 3000), (3000, 4000)):
        photo = _photo(name, width, height)
        full = matching.compute_hashes(photo)
        for quality in (95, 80, 60):
            media = decode(_jpeg(photo, quality))
            assert max(media.frames[0].shape[:2]) < max(width, height)  # decoded reduced
            reduced = matching.compute_hashes(media.frames[0])
            # the match radius is 31 bits of 256; measured: a reduced decode moves 0-2
            assert hamming(reduced.pdq, full.pdq) <= 8, (width, height, quality)
            assert hamming(reduced.phash, full.phash) <= 4, (width, height, quality)
