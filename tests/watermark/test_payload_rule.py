"""The second detection rule: pilot + decoded payload, counted over every codeword."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
import scipy.fft as sfft

import watermark
from watermark import ecc
from watermark.image import ref_size, resize
from watermark.pattern import T, pattern_for, tile

detect_mod = importlib.import_module("watermark.detect")


def test_scores_are_normalized_to_unit_variance_without_the_key(natural):
    """For an unmarked fold, over random keys and codewords, the score is ~N(0, 1).

    This is the premise of both bounds; a wrong normalization (a factor of
    2 between the half-plane bins and the full spectrum) would show here.
    """
    y = detect_mod._working(natural("grass", 512))
    folded = detect_mod.fold(y, detect_mod.NOMINAL)
    rng = np.random.default_rng(7)
    g = detect_mod._normalize_spectrum(sfft.rfft2(folded))
    pilot_z, full_z = [], []
    for i in range(300):
        key = f"random-test-key-{i:05d}-not-secret".encode()
        pat = pattern_for(key)
        vals = detect_mod._bin_values(g, pat, 0, 0)  # weighted terms
        mag2 = (detect_mod.bin_weights(pat) * np.abs(g[pat.rows, pat.cols])) ** 2
        pilot_z.append(vals[pat.pilot].sum() / np.sqrt(0.5 * mag2[pat.pilot].sum()))
        signs = 2.0 * ecc.encode(rng.bytes(8)).astype(float) - 1.0
        pay = pat.bit_of >= 0
        total = vals[pat.pilot].sum() + (signs[pat.bit_of[pay]] * vals[pay]).sum()
        full_z.append(total / np.sqrt(0.5 * (mag2[pat.pilot].sum() + mag2[pay].sum())))
        if i == 0:
            # the per-bin pilot score is the one the FFT search computes at shift 0
            conj, weight2 = detect_mod._pilot_spectra(key)
            corr = sfft.irfft2(g.astype(np.complex64) * conj[0], s=(128, 128)) * 128 * 128
            norm = np.sqrt((np.abs(g) ** 2 * detect_mod._BIN_WEIGHT * weight2[0]).sum())
            assert corr[0, 0] / norm == pytest.approx(pilot_z[0], rel=1e-3, abs=1e-3)
    for zs in (pilot_z, full_z):
        assert abs(np.mean(zs)) < 0.2
        assert 0.85 < np.std(zs) < 1.15


def test_a_mark_too_weak_for_the_pilot_alone_is_found_with_its_payload(natural, key, payload):
    """A mark whose pilot carries little energy (its weight cut to 0.1) and whose
    payload carries the usual: the pilot alone misses its threshold, the pilot
    locates the shift, and pilot + decoded payload pass the second rule's."""
    img = natural("astronaut", 768)
    h, w = img.shape[:2]
    rh, rw = ref_size(h, w)
    pat = pattern_for(key)
    weak = dataclasses.replace(pat, weight=np.where(pat.pilot, 0.1, pat.weight))
    carrier = np.tile(tile(weak, ecc.encode(payload)), (-(-rh // T), -(-rw // T)))[:rh, :rw]
    marked = np.clip(np.rint(img + resize(carrier, h, w)[..., None]), 0, 255).astype(np.uint8)
    found = watermark.detect(marked, key)
    assert found.score < found.threshold
    assert found.payload_score >= found.payload_threshold
    assert found.detected and found.payload == payload
    assert found.p_value <= watermark.FALSE_POSITIVE_RATE
    # and the same image with another key: nothing
    assert not watermark.detect(marked, b"another-test-key-not-a-secret!!!").detected


def test_wrong_key_never_reaches_the_payload_rule(marked, other_key):
    for _, img in marked.values():
        found = watermark.detect(img, other_key)
        assert not found.detected
        assert found.payload_score is None or found.payload_score < found.payload_threshold
