"""An upload seen at a slant (keystone): thorough mode's projective lattice."""

from __future__ import annotations

import dataclasses
import importlib

import cv2
import numpy as np
import pytest

import watermark
from watermark import keystone, pooled
from watermark.folds import try_lattice
from watermark.lattice import NOMINAL
from watermark.pattern import pattern_for

detect_mod = importlib.import_module("watermark.detect")


def slant_matrix(w, h, share):
    """`slant`'s homography for a w x h image (source -> slanted pixel coordinates)."""
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + np.float32(
        [
            [share * w, share * h],
            [-share * w, share * h],
            [0.3 * share * w, 0],
            [-0.3 * share * w, 0],
        ]
    )
    return cv2.getPerspectiveTransform(src, dst)


def slant(img, share):
    """A screen photographed from below: the top edge narrower by 2 x `share` of the
    width and lowered, the bottom edge a little wider (not the benchmark's keystone)."""
    h, w = img.shape[:2]
    m = slant_matrix(w, h, share)
    return cv2.warpPerspective(
        img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def _slot(img, key):
    folds = detect_mod._Folds([detect_mod._working(np.ascontiguousarray(img))])
    prep = keystone.Prepared(folds.works[0])
    return folds, keystone.find(prep, pattern_for(key), folds._sync_probe(key))


@pytest.mark.parametrize("name", ["astronaut", "chelsea"])
def test_a_five_percent_keystone_is_read_in_both_modes(natural, key, payload, name):
    upload = slant(watermark.embed(natural(name, 768), payload, key), 0.05)
    # the fast test through its gates (chelsea's lines smeared around their
    # nominal frequencies, astronaut's around a smaller lattice's: this slant
    # also narrows the picture)
    fast = watermark.detect(upload, key)
    assert fast.detected and fast.payload == payload
    found = watermark.detect(upload, key, thorough=True)
    assert found.detected and found.payload == payload
    assert found.hypotheses == detect_mod.THOROUGH_HYPOTHESES
    # the slot's lattice alone folds it coherently, far over the threshold
    folds, (lat,) = _slot(upload, key)
    assert lat.warp is not None and try_lattice(folds, lat, key)[0] > 2 * found.threshold


def test_unmarked_and_wrongly_keyed_slants_stay_under_the_threshold(
    natural, key, other_key, payload
):
    plain = slant(natural("coffee", 768), 0.03)
    marked = slant(watermark.embed(natural("coffee", 768), payload, key), 0.03)
    for img, k in ((plain, key), (marked, other_key)):
        found = watermark.detect(img, k, thorough=True)
        assert not found.detected
        folds, lats = _slot(img, k)
        assert all(try_lattice(folds, lat, k)[0] < found.threshold for lat in lats)


@pytest.mark.parametrize(
    ("name", "grid_skip"), [("coffee", keystone.GRID_SKIP), ("grass", float("inf"))]
)
def test_the_slot_never_reads_the_chips(natural, key, payload, monkeypatch, name, grid_skip):
    """The pilot's fair-coin bound needs the lattice chosen without its signs (grass: with
    the projective grid, which coffee's polished fold skips)."""
    monkeypatch.setattr(keystone, "GRID_SKIP", grid_skip)
    upload = slant(watermark.embed(natural(name, 768), payload, key), 0.02)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    pat = pattern_for(key)
    flipped = dataclasses.replace(pat, chips=-np.conj(pat.chips))
    probe = folds._sync_probe(key)
    prep = keystone.Prepared(folds.works[0])
    assert keystone.find(prep, pat, probe) == keystone.find(prep, flipped, probe)


def test_a_projective_lattice_folds_with_its_offsets(natural, key, payload):
    upload = slant(watermark.embed(natural("astronaut", 768), payload, key), 0.02)
    folds, (lat,) = _slot(upload, key)
    near = lat.offset(1.002, 0.0)
    assert near.warp == lat.warp and near.key != lat.key
    assert try_lattice(folds, near, key)[0] > 0.5 * try_lattice(folds, lat, key)[0]


def test_a_keystoned_fine_texture_is_read_through_the_pooled_fit(natural, key, payload):
    """Gravel: no block shows the sync lines well enough for the blocks' own fit."""
    upload = slant(watermark.embed(natural("gravel", 768), payload, key), 0.02)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    work, pat = folds.works[0], pattern_for(key)
    lines = np.stack([pat.kx[pat.sync], pat.ky[pat.sync]], axis=1).astype(np.float64)
    blocks_only = keystone._block_fit(work, lines, keystone._blocks(work))
    found = watermark.detect(upload, key, thorough=True)
    assert found.detected and found.payload == payload
    assert try_lattice(folds, keystone.warped(blocks_only), key)[0] < found.threshold
    (lat,) = keystone.find(keystone.Prepared(work), pat, folds._sync_probe(key))
    assert try_lattice(folds, lat, key)[0] > 1.5 * found.threshold


def test_the_pooled_fit_recovers_a_known_homography(natural, key, payload):
    """On a strongly marked photo the pooled fit alone lands within the fold's reach."""
    upload = slant(watermark.embed(natural("coffee", 768), payload, key), 0.03)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    work, pat = folds.works[0], pattern_for(key)
    lines = np.stack([pat.kx[pat.sync], pat.ky[pat.sync]], axis=1).astype(np.float64)
    warp = pooled.fit(pooled.prepare(keystone._blocks(work)), lines, work.shape)[0]
    assert try_lattice(folds, keystone.warped(warp), key)[0] > 2 * detect_mod._bound(True)[1]


def test_the_fast_test_reads_a_slant_through_the_gated_slot(natural, key, payload, monkeypatch):
    upload = slant(watermark.embed(natural("chelsea", 768), payload, key), 0.03)
    found = watermark.detect(upload, key)
    assert found.detected and found.payload == payload
    assert found.hypotheses == detect_mod.HYPOTHESES
    # the nominal fold still shows the sync lines, and without the slot the
    # fast test misses this slant
    folds = detect_mod._Folds([detect_mod._working(upload)])
    assert folds.sync_powers(NOMINAL, key).max() >= keystone.FAST_GATE
    for gate in ("FAST_GATE", "SMEAR_GATE", "SCALED_GATE"):
        monkeypatch.setattr(keystone, gate, float("inf"))
    assert not watermark.detect(upload, key).detected


def _smear(folds, key):
    return keystone.smear_score(
        keystone.smeared(folds.power()), folds.works[0].shape, pattern_for(key)
    )


def test_the_gate_sees_lines_a_steeper_slant_smeared_out_of_the_fold(
    natural, key, payload, monkeypatch
):
    upload = slant(watermark.embed(natural("chelsea", 768), payload, key), 0.05)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    assert folds.sync_powers(NOMINAL, key).max() < keystone.FAST_GATE
    assert _smear(folds, key) >= keystone.SMEAR_GATE
    found = watermark.detect(upload, key)
    assert found.detected and found.payload == payload
    for gate in ("SMEAR_GATE", "SCALED_GATE"):
        monkeypatch.setattr(keystone, gate, float("inf"))
    assert not watermark.detect(upload, key).detected


def framed(img, fill, share):
    """A phone photo of a screen: the picture at `fill` of the frame, on a dark
    background, then the whole at a slant."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (round(w * fill), round(h * fill)), interpolation=cv2.INTER_AREA)
    canvas = np.full_like(img, 30)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return slant(canvas, share)


def test_a_slanted_picture_smaller_than_the_frame_is_read_around_a_smaller_lattice(
    natural, key, payload, monkeypatch
):
    img = natural("astronaut", 768)
    upload = framed(watermark.embed(img, payload, key), 0.75, 0.04)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    base = folds._slant_base(pattern_for(key), key, False)
    # the picture at 75% of the frame, narrowed further by the slant: a period near 90
    assert base is not None and base is not NOMINAL and 80 < base.period < 100
    found = watermark.detect(upload, key)
    assert found.detected and found.payload == payload
    assert found.hypotheses == detect_mod.HYPOTHESES
    monkeypatch.setattr(keystone, "SCALED_GATE", float("inf"))
    assert not watermark.detect(upload, key).detected
    # the same photo of the unmarked picture: the fast test skips the slot,
    # thorough mode runs it around the nominal lattice
    plain = detect_mod._Folds([detect_mod._working(framed(img, 0.75, 0.04))])
    assert plain._slant_base(pattern_for(key), key, False) is None
    assert plain._slant_base(pattern_for(key), key, True) is NOMINAL


def test_the_fast_test_skips_the_slot_where_the_sync_lines_show_nowhere(
    natural, key, other_key, payload
):
    plain = slant(natural("coffee", 768), 0.03)
    marked = slant(watermark.embed(natural("coffee", 768), payload, key), 0.03)
    for img, k in ((plain, key), (marked, other_key)):
        folds = detect_mod._Folds([detect_mod._working(img)])
        assert folds.sync_powers(NOMINAL, k).max() < keystone.FAST_GATE
        assert _smear(folds, k) < keystone.SMEAR_GATE
        assert folds._slant_base(pattern_for(k), k, False) is None
        lattices = list(folds.lattices(pattern_for(k), k))
        assert folds._keystone is None and all(lat.warp is None for lat in lattices)
        # thorough mode tries it regardless
        assert any(lat.warp is not None for lat in folds.lattices(pattern_for(k), k, True))


def test_the_fast_slot_is_the_local_maps_estimate_unpolished(natural, key, payload):
    upload = slant(watermark.embed(natural("chelsea", 768), payload, key), 0.03)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    prep = keystone.Prepared(folds.works[0])
    pat = pattern_for(key)
    lines = np.stack([pat.kx[pat.sync], pat.ky[pat.sync]], axis=1).astype(np.float64)
    (lat,) = keystone.find(prep, pat, folds._sync_probe(key), thorough=False)
    assert np.allclose(
        np.reshape(lat.warp, (3, 3)), keystone._block_fit(prep.work, lines, prep.blocks)
    )
    # the pooled fit's stacks are never made for it
    assert prep._stacks is None


def test_the_gate_windows_never_leave_the_spectrum():
    """`smear_scores` indexes without bounds checks: every line at every factor stays
    within half the plane of its centre (a negative index would wrap silently)."""
    from watermark.pattern import SYNC_R_HI, T

    assert keystone._BASE_FACTORS.max() * SYNC_R_HI / T + 1 / 256 < 0.5
