"""Hashes of natural images (skimage.data) and what they survive."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import matching
from matching.bars import find_content_box
from matching.codes import hamming


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.fixture(scope="module")
def astronaut():
    return skdata.astronaut()


@pytest.fixture(scope="module")
def astronaut_hashes(astronaut):
    return matching.compute_hashes(astronaut)


def test_pdq_hex_matches_the_threatexchange_convention(astronaut, astronaut_hashes):
    import pdqhash

    bits, quality = pdqhash.compute(cv2.resize(astronaut, (512, 512)))
    # HMA/ThreatExchange write the bit vector most significant first
    want = f"{int(''.join(str(b) for b in bits), 2):064x}"
    assert hamming(bytes.fromhex(want), astronaut_hashes.pdq) <= 8  # only the reduction differs
    assert len(astronaut_hashes.pdq_hex) == 64 and astronaut_hashes.quality == quality == 100
    assert len(astronaut_hashes.pdq_dihedral) == 8
    assert astronaut_hashes.pdq_dihedral[0] == astronaut_hashes.pdq
    assert len(astronaut_hashes.phash) == 8


@pytest.mark.parametrize(
    "transform",
    [
        lambda x: _jpeg(x, 30),
        lambda x: cv2.resize(x, (200, 200), interpolation=cv2.INTER_AREA),
        lambda x: np.ascontiguousarray(
            cv2.cvtColor(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        ),
        lambda x: np.clip(x.astype(np.int16) * 1.2 + 10, 0, 255).astype(np.uint8),
    ],
    ids=["jpeg30", "resize", "grayscale", "brightness"],
)
def test_full_frame_pdq_survives_pixel_transforms(astronaut, astronaut_hashes, transform):
    h = matching.compute_hashes(transform(astronaut))
    assert hamming(h.pdq, astronaut_hashes.pdq) <= 31


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_dihedral_variant_matches_rotations(astronaut, astronaut_hashes, k):
    h = matching.compute_hashes(np.ascontiguousarray(np.rot90(astronaut, k)))
    assert min(hamming(astronaut_hashes.pdq, c) for c in h.pdq_dihedral) <= 31
    assert hamming(astronaut_hashes.pdq, h.pdq) > 31  # only through the dihedrals


def test_letterbox_bars_are_found_and_stripped(astronaut, astronaut_hashes):
    boxed = np.zeros((700, 512, 3), np.uint8)
    boxed[94:606] = astronaut
    box = find_content_box(boxed)
    assert box is not None and abs(box[0] - 94) <= 2 and abs(box[1] - 606) <= 2
    h = matching.compute_hashes(boxed)
    assert hamming(h.pdq, astronaut_hashes.pdq) > 31  # the bars break the plain hash
    assert hamming(h.pdq_unboxed, astronaut_hashes.pdq) <= 31


def test_no_bars_means_no_unboxed_hash(astronaut_hashes):
    assert astronaut_hashes.pdq_unboxed is None and astronaut_hashes.content_box is None


def test_distinct_images_are_far_apart():
    names = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon")
    hashes = [matching.compute_hashes(getattr(skdata, n)()) for n in names]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert min(hamming(a.pdq, c) for c in b.pdq_dihedral) > 43


def test_flat_images_have_low_quality():
    flat = np.full((300, 300, 3), 200, np.uint8)
    assert matching.compute_hashes(flat).quality < matching.DEFAULT_MIN_QUALITY


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((8, 8, 3), np.uint8),
        np.zeros((64, 64, 3), np.float32),
        np.zeros((64, 64, 5), np.uint8),
        "not an array",
    ],
)
def test_unhashable_inputs_are_typed_errors(bad):
    with pytest.raises(matching.InvalidImage):
        matching.compute_hashes(bad)


def test_gray_and_rgba_are_accepted(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    assert hamming(matching.compute_hashes(rgba).pdq, matching.compute_hashes(astronaut).pdq) == 0
    assert matching.compute_hashes(gray).quality >= 50


def test_feature_blobs_round_trip_and_reject_corruption(astronaut):
    feats = matching.extract_features(astronaut)
    assert len(feats) > 200
    back = matching.LocalFeatures.from_blob(feats.to_blob())
    assert np.array_equal(back.points, feats.points)
    assert np.array_equal(back.descriptors, feats.descriptors)
    for blob in (b"", b"XXXX" + feats.to_blob()[4:], feats.to_blob()[:-5]):
        with pytest.raises(matching.InvalidFeatures):
            matching.LocalFeatures.from_blob(blob)


def test_hex_columns_decode_in_bulk_and_mask_bad_rows():
    from matching.codes import from_hex_column

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (9000, 32), dtype=np.uint8)
    texts = [bytes(c).hex() for c in codes]
    out, ok = from_hex_column(texts)
    assert ok.all() and np.array_equal(out, codes)
    bad = {5: None, 7: "zz" * 32, 11: "ab", 13: "\u00e9" * 64, 15: " " + "a" * 63, 8000: ""}
    for i, v in bad.items():
        texts[i] = v
    texts[9] = texts[9].upper()  # upper case is still hex
    out, ok = from_hex_column(texts)
    assert sorted(np.flatnonzero(~ok)) == sorted(bad)
    assert np.array_equal(out[ok], codes[ok]) and not out[~ok].any()
    short, ok = from_hex_column(["00ff" * 4, "0g" * 8], 8)
    assert ok.tolist() == [True, False] and short[0].tobytes() == bytes.fromhex("00ff" * 4)
