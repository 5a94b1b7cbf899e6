"""The keystone slot's projective grid: thorough mode's estimate for slanted fine textures."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import watermark
from watermark import keystone, pooled, projective
from watermark.folds import try_lattice
from watermark.pattern import SYNC_R_HI, T, pattern_for

from .test_keystone import framed, slant, slant_matrix

detect_mod = importlib.import_module("watermark.detect")


def _lines(key):
    return keystone._lines(pattern_for(key))


def test_grass_at_a_slant_is_read_through_the_grid(natural, key, payload, monkeypatch):
    """Grass: the blocks' fit and the pooled fit miss; the whole image's lines do not."""
    upload = slant(watermark.embed(natural("grass", 768), payload, key), 0.02)
    found = watermark.detect(upload, key, thorough=True)
    assert found.detected and found.payload == payload
    monkeypatch.setattr(keystone, "GRID_SKIP", float("-inf"))  # the grid never runs
    assert not watermark.detect(upload, key, thorough=True).detected


def test_the_grid_recovers_a_known_homography(natural, key, payload):
    """On a strongly marked photo the grid's best point folds over the threshold before
    any climb, and its projective part is the one the slant applied."""
    upload = slant(watermark.embed(natural("coffee", 768), payload, key), 0.03)
    folds = detect_mod._Folds([detect_mod._working(upload)])
    work = folds.works[0]
    spectra = projective.Spectra(work)
    best = projective.estimates(spectra, _lines(key))[0]
    assert try_lattice(folds, keystone.warped(best), key)[0] > detect_mod._bound(True)[1]
    # the slant in working pixels, as (A, q) about the centre
    h, w = upload.shape[:2]
    to_work = np.diag([work.shape[1] / w, work.shape[0] / h, 1.0])
    truth = to_work @ slant_matrix(w, h, 0.03) @ np.linalg.inv(to_work)
    a, q = pooled._centred(truth, work.shape)
    a_got, q_got = pooled._centred(best, work.shape)
    p, p_got = np.linalg.inv(a).T @ q, np.linalg.inv(a_got).T @ q_got
    assert np.abs(p_got - p).max() <= projective.P_STEP
    assert np.abs(a_got - a).max() < 0.015  # whole-bin peaks: ~1% off at most


def test_an_unmarked_slant_stays_under_the_threshold_with_the_grid(natural, key, monkeypatch):
    monkeypatch.setattr(keystone, "GRID_SKIP", float("inf"))
    plain = slant(natural("grass", 768), 0.03)
    found = watermark.detect(plain, key, thorough=True)
    assert not found.detected
    assert found.hypotheses == detect_mod.THOROUGH_HYPOTHESES


@pytest.mark.parametrize("shape", [(512, 512), (384, 512), (512, 288), (288, 512)])
def test_the_boxes_hold_every_window_and_every_accepted_map(shape):
    """Windows around the nominal lines, and lines moved by any map the pairs may
    accept, stay inside each grid point's box (no index wraps or clips)."""
    spectra = projective.Spectra(np.zeros(shape, np.float32))
    assert (
        len(spectra.boxes)
        == len(spectra.ps)
        == round(2 * projective.P_REACH / projective.P_STEP + 1) ** 2
    )
    h, w = shape
    reach = SYNC_R_HI * np.array([w / T, h / T])
    moved = reach * (1 + 2 * projective.MAX_SKEW)
    assert np.all(reach + projective.WINDOW + 1 <= [spectra.rx, spectra.ry])
    assert np.all(moved + 1 <= [spectra.rx, spectra.ry])
    assert spectra.rx < w // 2 and spectra.ry < h // 2


def test_lines_a_base_lattice_moves_past_the_boxes_skip_the_grid(
    natural, key, payload, monkeypatch
):
    """A picture at 75% of the frame: the slot looks around a lattice of period ~90, whose
    lines lie beyond the boxes; the grid steps aside and the other fits read it."""
    monkeypatch.setattr(keystone, "GRID_SKIP", float("inf"))
    upload = framed(watermark.embed(natural("astronaut", 768), payload, key), 0.75, 0.04)
    found = watermark.detect(upload, key, thorough=True)
    assert found.detected and found.payload == payload
    spectra = projective.Spectra(detect_mod._working(upload))
    lines = _lines(key)
    assert spectra.holds(lines) and not spectra.holds(lines * T / 90.0)
    assert projective.estimates(spectra, lines * T / 90.0) == []


def test_a_working_image_too_narrow_for_the_boxes_has_no_grid(key):
    """Under ~22 px of spectrum across, no box fits: the grid has no points and holds no
    lines (detection refuses such panoramas before, `image.MAX_ASPECT`)."""
    spectra = projective.Spectra(np.zeros((512, 7), np.float32))
    assert not spectra.usable and len(spectra.ps) == 0 and not spectra.holds(_lines(key))
    assert projective.estimates(spectra, _lines(key)) == []
