"""Small crops: the crop slot reads the sync lines between the bins of the spectrum."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import watermark
from watermark import comb, crops
from watermark.lattice import period_limit
from watermark.pattern import pattern_for

detect_mod = importlib.import_module("watermark.detect")

# one of the benchmark's keys (not a secret): with it the comb's axis slot
# lands 1.2% off this crop's period, where the pilot's z is under 5
CROP_KEY = b"benchmark-key-not-a-secret-1001"


def _area_crop(img, share, y0, x0):
    h, w = img.shape[:2]
    side = share**0.5
    ch, cw = int(h * side), int(w * side)
    y, x = int((h - ch) * y0), int((w - cw) * x0)
    return np.ascontiguousarray(img[y : y + ch, x : x + cw])


def _slot(img, key, floor=None):
    folds = detect_mod._Folds([detect_mod._working(img)])
    shape = folds.works[0].shape
    return folds, crops.find(
        crops.prepare(folds.works, period_limit(shape)), pattern_for(key), floor
    )


@pytest.fixture(scope="module")
def ihc_crop(natural, payload):
    marked = watermark.embed(natural("immunohistochemistry", 1024), payload, CROP_KEY)
    return _area_crop(marked, 0.15, 0.3, 0.6)


def test_a_crop_keeping_15_percent_of_texture_is_found_by_the_fast_search(ihc_crop, payload):
    found = watermark.detect(ihc_crop, CROP_KEY)
    assert found.detected and found.payload == payload
    # 396 of the 1024 px kept: the tile (256 px) is 331 working px
    assert found.rotation == 0.0 and found.scale == pytest.approx(396 / 1024, rel=0.005)
    assert found.hypotheses == detect_mod.HYPOTHESES


def test_the_slot_reads_the_crop_period_where_the_comb_misses_it(ihc_crop):
    folds, (lat,) = _slot(ihc_crop, CROP_KEY)
    true_period = 256 * 512 / 396
    assert lat.angle == 0.0 and lat.period == pytest.approx(true_period, rel=0.004)
    assert lat.score >= crops.FAST_FLOOR
    shape = folds.works[0].shape
    axis = [
        c
        for c in comb.find(
            comb.prepare(folds.power(), shape, period_limit(shape)), pattern_for(CROP_KEY)
        )
        if c.angle == 0.0
    ]
    # the comb reads the lines on the spectrum's bins: its period is pulled off
    assert all(abs(c.period / true_period - 1) > 0.004 for c in axis)


def test_an_unmarked_image_pays_no_fold_for_the_slot(natural, key):
    img = _area_crop(natural("coffee", 1024), 0.15, 0.3, 0.6)
    folds, (lat,) = _slot(img, key)
    assert lat.score < crops.FAST_FLOOR
    assert _slot(img, key, crops.FAST_FLOOR)[1] == []
    assert not watermark.detect(img, key).detected


def test_no_slot_where_no_period_over_p_lo_is_searched(natural, key):
    img = np.ascontiguousarray(natural("astronaut", 512))
    folds = detect_mod._Folds([detect_mod._working(img)])
    assert crops.prepare(folds.works, crops.P_LO) is None
    assert crops.find(None, pattern_for(key)) == []
