"""One axis of the upload scaled ("fit to 4:5"): the rectangular lattice of the aspect slot."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest

import watermark
from watermark import aspect, comb
from watermark.lattice import period_limit
from watermark.pattern import pattern_for

detect_mod = importlib.import_module("watermark.detect")


def _scaled(img, fx=1.0, fy=1.0):
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * fx), round(h * fy)), interpolation=cv2.INTER_LINEAR)


def _slot(img, key, floor=None):
    folds = detect_mod._Folds([detect_mod._working(np.ascontiguousarray(img))])
    shape = folds.works[0].shape
    return folds, aspect.find(
        comb.prepare(folds.power(), shape, period_limit(shape)), pattern_for(key), floor
    )


@pytest.mark.parametrize(
    ("name", "fx", "fy"),
    [("coffee", 1.2, 1.0), ("coffee", 1.0, 1.25), ("astronaut", 1.0, 1.2), ("astronaut", 0.8, 1.0)],
)
def test_one_axis_scaled_is_found_with_its_ratio(natural, key, payload, name, fx, fy):
    marked = watermark.embed(natural(name, 1024), payload, key)
    upload = np.ascontiguousarray(_scaled(marked, fx, fy))
    found = watermark.detect(upload, key)
    assert found.detected and found.payload == payload
    assert found.aspect == pytest.approx(fy / fx, rel=0.004)
    # without the slot, no square lattice folds it
    _, (lat,) = _slot(upload, key)
    assert lat.score > 2 * aspect.FAST_FLOOR and lat.aspect == pytest.approx(fy / fx, rel=0.004)


def test_the_slot_waits_for_the_lines_in_the_fast_test(natural, key, payload):
    """An unmarked upload's best rectangular lattice scores far under the floor: no fold."""
    for img in (natural("coffee", 1024), _scaled(natural("astronaut", 1024), 1.2)):
        folds, (lat,) = _slot(img, key)
        assert lat.score < aspect.FAST_FLOOR / 1.4
        assert _slot(img, key, aspect.FAST_FLOOR)[1] == []
        detect_mod._decide(folds, key, 1)
        assert not any(k[2] != 1.0 for k in folds._cache)  # no rectangular fold was made


def test_a_plain_resize_still_reads_as_square(natural, key, payload):
    marked = watermark.embed(natural("coffee", 1024), payload, key)
    found = watermark.detect(np.ascontiguousarray(_scaled(marked, 0.7, 0.7)), key)
    assert found.detected and found.aspect == 1.0
