"""The keyed sync lines: where the pattern puts them, and what the comb makes of them."""

from __future__ import annotations

import dataclasses
import importlib

import cv2
import numpy as np
import pytest

import watermark
from watermark import pattern as pattern_mod
from watermark.lattice import period_limit
from watermark.pattern import pattern_for, tile

comb = importlib.import_module("watermark.comb")
detect_mod = importlib.import_module("watermark.detect")


def test_sync_lines_are_few_strong_and_apart_from_pilot_and_payload(key, payload):
    pat = pattern_for(key)
    assert pat.sync.sum() == pattern_mod.SYNC_BINS
    # disjoint from the pilot (whose signs prove the mark) and from the payload
    assert not np.any(pat.sync & pat.pilot)
    assert np.all(pat.bit_of[pat.sync] == -1)
    radius = np.hypot(pat.ky[pat.sync], pat.kx[pat.sync])
    assert radius.min() >= pattern_mod.SYNC_R_LO and radius.max() <= pattern_mod.SYNC_R_HI
    angle = np.degrees(np.arctan2(pat.ky[pat.sync], pat.kx[pat.sync]))
    assert np.all(np.minimum(np.abs(angle), 90 - np.abs(angle)) >= pattern_mod.SYNC_AXIS_MARGIN)
    gaps = np.abs((angle[:, None] - angle[None, :] + 90) % 180 - 90)
    assert gaps[~np.eye(angle.size, dtype=bool)].min() >= pattern_mod.SYNC_SEPARATION
    # their share of the tile's energy is SYNC_SHARE
    spec = np.abs(np.fft.fft2(tile(pat, np.zeros(264)))) ** 2
    sync_power = 2 * spec[pat.rows[pat.sync], pat.cols[pat.sync]].sum()
    assert sync_power / spec.sum() == pytest.approx(pattern_mod.SYNC_SHARE, rel=0.01)


def test_another_key_puts_them_elsewhere(key, other_key):
    a, b = pattern_for(key), pattern_for(other_key)
    assert not np.array_equal(np.flatnonzero(a.sync), np.flatnonzero(b.sync))


def _rotate(img, deg, scale=1.0):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, scale)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("deg", [4.0, -9.0])
def test_the_comb_finds_rotation_and_scale(natural, key, payload, deg):
    marked = watermark.embed(natural("coffee", 1024), payload, key)
    attacked = np.ascontiguousarray(_rotate(marked, deg, 0.8))
    folds = detect_mod._Folds([detect_mod._working(attacked)])
    shape = folds.works[0].shape
    found = comb.find(comb.prepare(folds.power(), shape, 300.0), pattern_for(key))
    assert len(found) == comb.CANDIDATES
    best = found[0]
    # 1024 px -> 512 working px: the tile (256 px in the marked image) is 128 * 0.8
    assert best.period == pytest.approx(128 * 0.8, rel=0.004)
    # OpenCV turns counter-clockwise on screen; the lattice angle is the
    # same turn in y-down coordinates
    assert best.angle == pytest.approx(-deg, abs=0.15)
    assert best.score > 2 * found[1].score


def test_the_comb_never_reads_the_chips(natural, key, payload):
    """The pilot's fair-coin bound needs lattices chosen without its signs."""
    marked = watermark.embed(natural("coffee", 768), payload, key)
    folds = detect_mod._Folds([detect_mod._working(np.ascontiguousarray(_rotate(marked, 6)))])
    pat = pattern_for(key)
    flipped = dataclasses.replace(pat, chips=-np.conj(pat.chips))
    shape = folds.works[0].shape
    assert comb.find(comb.prepare(folds.power(), shape, 300.0), pat) == comb.find(
        comb.prepare(folds.power(), shape, 300.0), flipped
    )


def test_fast_detection_of_a_rotated_and_scaled_copy(natural, key, payload):
    marked = watermark.embed(natural("coffee", 1024), payload, key)
    attacked = np.ascontiguousarray(_rotate(marked, 7, 0.9))
    found = watermark.detect(attacked, key)
    assert found.detected and found.payload == payload
    assert found.scale == pytest.approx(1 / 0.9, rel=0.01)
    assert found.hypotheses == detect_mod.HYPOTHESES


def test_on_heavy_texture_the_comb_finds_what_the_key_free_search_misses(natural, key, payload):
    marked = watermark.embed(natural("gravel", 1024), payload, key)
    h, w = marked.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 10, 1.0)
    attacked = cv2.warpAffine(marked, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    folds = detect_mod._Folds([detect_mod._working(attacked)])
    shape = folds.works[0].shape

    def near_truth(lat):
        return abs(lat.period - 128) < 1.0 and abs(lat.angle + 10) < 0.3

    key_free = detect_mod.find_lattices(folds.power(), shape)
    assert not any(near_truth(lat) for lat in key_free)
    assert near_truth(comb.find(comb.prepare(folds.power(), shape, 300.0), pattern_for(key))[0])
    found = watermark.detect(attacked, key)
    assert found.detected and found.payload == payload


def test_the_sync_screen_passes_the_marked_lattice_and_not_another_keys(
    natural, key, other_key, payload
):
    """Lattices other than the nominal one are searched only where the key's lines show."""
    from watermark.hypotheses import SYNC_SCREEN
    from watermark.lattice import Lattice

    marked = watermark.embed(natural("coffee", 1024), payload, key)
    attacked = np.ascontiguousarray(_rotate(marked, 4.0, 0.8))
    folds = detect_mod._Folds([detect_mod._working(attacked)])
    truth = Lattice(128 * 0.8, -4.0, 0.0)
    assert folds.sync_powers(truth, key).max() > 5 * SYNC_SCREEN
    # another key's lines are not there, wherever the fold
    assert folds.sync_powers(truth, other_key).max() < SYNC_SCREEN
    found = watermark.detect(attacked, key)
    assert found.detected and found.payload == payload


def test_weak_comb_lattices_off_the_axis_are_not_folded_in_the_fast_test(natural, key, payload):
    """An unmarked upload's chance comb peaks cost no fold; a marked rotation's peak does."""

    def folded(img, thorough=False):
        folds = detect_mod._Folds([detect_mod._working(img)])
        detect_mod._decide(folds, key, 1, thorough)
        return folds, set(folds._cache)

    unmarked = natural("coffee", 1024)
    folds, fast = folded(unmarked)
    cands = comb.find(
        comb.prepare(folds.power(), folds.works[0].shape, period_limit(folds.works[0].shape)),
        pattern_for(key),
    )
    weak = [c for c in cands if abs(c.angle) > comb.AXIS_ANGLE and c.score < comb.FAST_FLOOR]
    assert weak  # a chance peak of the comb on an unmarked photo scores low
    strong = comb.find(
        comb.prepare(folds.power(), folds.works[0].shape, period_limit(folds.works[0].shape)),
        pattern_for(key),
        comb.FAST_FLOOR,
    )
    assert strong == [c for c in cands if c not in weak]
    assert not any(c.key in fast for c in weak)
    # thorough mode still folds them
    _, thorough = folded(unmarked, thorough=True)
    assert all(c.key in thorough for c in weak)
    # a rotated mark's lattice stands well above the floor and is found
    attacked = np.ascontiguousarray(_rotate(watermark.embed(unmarked, payload, key), 7.0, 0.9))
    folds, _ = folded(attacked)
    best = comb.find(
        comb.prepare(folds.power(), folds.works[0].shape, period_limit(folds.works[0].shape)),
        pattern_for(key),
    )[0]
    assert abs(best.angle) > comb.AXIS_ANGLE and best.score > 1.5 * comb.FAST_FLOOR
    found = watermark.detect(attacked, key)
    assert found.detected and found.payload == payload
