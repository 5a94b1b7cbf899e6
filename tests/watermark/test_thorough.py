"""Thorough mode: the keyed scan of crop and rotation geometry, and its own counted bound."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest

import watermark
from watermark import stats
from watermark.lattice import P_MAX

detect_mod = importlib.import_module("watermark.detect")


def rotate(img, deg):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def texture_marked(natural, key, payload):
    # heavy texture: the lattice estimates are at their weakest here
    img = natural("gravel", 1024)
    return img, watermark.embed(img, payload, key)


def test_thorough_finds_a_rotated_texture_with_its_payload(
    texture_marked, key, payload, remove_sync_lines
):
    _, marked = texture_marked
    # an attacker zeroed the sync lines, then rotated: the comb is blind and
    # the key-free autocorrelation is too weak on gravel, so the fast test
    # misses; thorough mode's keyed scan of the rotation axis does not need them
    attacked = np.ascontiguousarray(rotate(remove_sync_lines(marked, key), 5))
    assert not watermark.detect(attacked, key).detected
    found = watermark.detect(attacked, key, thorough=True)
    assert found.detected, (found.score, found.threshold)
    assert found.payload == payload
    assert found.hypotheses == detect_mod.THOROUGH_HYPOTHESES
    assert found.rotation == pytest.approx(5.0, abs=0.6) or found.rotation == pytest.approx(
        -5.0, abs=0.6
    )


def test_thorough_mode_is_one_test_with_a_higher_threshold(texture_marked, key):
    original, _ = texture_marked
    fast = watermark.detect(original, key)
    slow = watermark.detect(original, key, thorough=True)
    assert not fast.detected and not slow.detected
    # more hypotheses searched, so a higher bar for the same 1e-9
    assert slow.hypotheses > fast.hypotheses
    assert slow.threshold > fast.threshold
    # (each of the two rules, pilot and pilot + payload, at half the rate)
    half = watermark.FALSE_POSITIVE_RATE / 2
    assert slow.threshold == pytest.approx(stats.threshold(detect_mod.THOROUGH_HYPOTHESES, half))
    assert stats.p_value(slow.threshold, slow.hypotheses) == pytest.approx(half, rel=1e-6)
    # the scan only adds hypotheses: its best score is at least the fast one's
    assert slow.score >= fast.score - 1e-9


def test_thorough_mode_with_the_wrong_key_finds_nothing(texture_marked, other_key):
    _, marked = texture_marked
    found = watermark.detect(np.ascontiguousarray(rotate(marked, 5)), other_key, thorough=True)
    assert not found.detected
    assert found.payload is None


def test_scan_grid_is_fixed_and_covers_the_documented_ranges():
    periods, angles = detect_mod.SCAN_PERIODS, detect_mod.SCAN_ANGLES
    assert periods[0] == pytest.approx(64.0) and periods[-1] <= P_MAX
    assert np.all(np.diff(np.log(periods)) == pytest.approx(np.log(1.004)))
    assert min(angles) == -15.0 and max(angles) == 15.0 and 0.0 not in angles
    scan = (len(periods) + len(angles)) * detect_mod.DIHEDRAL * 128 * 128
    expected = detect_mod.HYPOTHESES + scan
    assert expected == detect_mod.THOROUGH_HYPOTHESES
    # the same total as when the keystone slot was thorough mode's alone
    assert expected == 107_085_824
