"""Crops keep the angle at 0: the comb's axis slot finds them on texture."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import watermark
from watermark.pattern import pattern_for

comb = importlib.import_module("watermark.comb")
detect_mod = importlib.import_module("watermark.detect")
hypotheses = importlib.import_module("watermark.hypotheses")


def _centre_crop(img, area):
    h, w = img.shape[:2]
    f = area**0.5
    ch, cw = int(h * f), int(w * f)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(img[y : y + ch, x : x + cw])


def test_grass_cropped_to_half_its_area_is_found_by_the_fast_search(natural, key, payload):
    # the hardest host of the benchmark: its own power at the moved sync lines
    # ranks the crop's lattice 3rd-5th of the comb's plane, 0.4 degrees off the axis
    marked = watermark.embed(natural("grass", 1024), payload, key)
    found = watermark.detect(_centre_crop(marked, 0.5), key)
    assert found.detected and found.payload == payload
    assert found.rotation == 0.0 and found.scale == pytest.approx(0.707, rel=0.01)


def test_the_comb_always_offers_a_lattice_near_the_axis(natural, key, payload):
    marked = watermark.embed(natural("grass", 1024), payload, key)
    folds = detect_mod._Folds([detect_mod._working(_centre_crop(marked, 0.5))])
    shape = folds.works[0].shape
    found = comb.find(comb.prepare(folds.power(), shape, 300.0), pattern_for(key))
    assert 1 <= len(found) <= comb.CANDIDATES
    # on the axis exactly, within the pilot's lobe of the crop's period (128 / 0.707)
    assert any(lat.angle == 0.0 and abs(lat.period / 181.0 - 1) < 0.004 for lat in found)


def test_the_axis_aspect_crop_and_keystone_slots_are_counted_in_the_bound():
    from watermark import aspect, crops, keystone

    slots = hypotheses.LATTICES + comb.CANDIDATES + aspect.SLOTS + crops.SLOTS + keystone.SLOTS
    per_slot = 1 + len(hypotheses.LOCAL_OFFSETS)
    expected = slots * per_slot * hypotheses.DIHEDRAL * hypotheses.T * hypotheses.T
    assert comb.CANDIDATES == 4 and aspect.SLOTS == 1 and crops.SLOTS == 1 and keystone.SLOTS == 1
    assert expected == detect_mod.HYPOTHESES
    assert expected == 27_262_976  # 16 lattices x 13 offsets x 8 x 128^2 (README.md)
