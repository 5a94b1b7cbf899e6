"""The MIH index gives exactly the brute-force answers, on random banks with planted neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import HammingIndex, InvalidHash, brute_force
from matching.index import _layout, substring


def _flip(code: np.ndarray, bits: np.ndarray) -> np.ndarray:
    unpacked = np.unpackbits(code)
    unpacked[bits] ^= 1
    return np.packbits(unpacked)


def _bank(seed: int, n: int, queries: int, distances) -> tuple[np.ndarray, list[bytes]]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    qs = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    for q in qs:
        for d in distances:
            codes[rng.integers(n)] = _flip(q, rng.choice(256, d, replace=False))
    return codes, [bytes(q) for q in qs]


def _same(a, b):
    for (ra, da), (rb, db) in zip(a, b, strict=True):
        order_a, order_b = np.argsort(ra), np.argsort(rb)
        assert np.array_equal(ra[order_a], rb[order_b])
        assert np.array_equal(da[order_a], db[order_b])


@pytest.mark.parametrize("tables", [16, 11, 24])
@pytest.mark.parametrize("radius", [0, 15, 31, 43])
def test_equals_brute_force_on_planted_neighbours(tables, radius):
    # neighbours planted exactly at, just inside and just outside the radii
    codes, queries = _bank(tables * 100 + radius, 5000, 12, (0, 1, 15, 16, 30, 31, 32, 43, 44))
    index = HammingIndex(codes, tables=tables)
    got = index.search(queries, radius)
    want = brute_force(index.words, queries, radius)
    _same(got, want)
    assert sum(len(r) for r, _ in want) >= 12  # the test searched something real


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 600),
    radius=st.integers(0, 60),
    tables=st.sampled_from([16, 11]),
)
def test_equals_brute_force_hypothesis(seed, n, radius, tables):
    rng = np.random.default_rng(seed)
    codes, queries = _bank(seed, max(n, 1), 4, tuple(rng.integers(0, 64, 5)))
    codes = codes[:n]
    index = HammingIndex(codes, tables=tables)
    _same(index.search(queries, radius), brute_force(index.words, queries, radius))


def test_duplicates_are_reported_once_each_row():
    code = np.full((1, 32), 7, np.uint8)
    index = HammingIndex(np.repeat(code, 3, axis=0))
    rows, dists = index.search(bytes(code[0]), 31)[0]
    assert sorted(rows.tolist()) == [0, 1, 2] and dists.tolist() == [0, 0, 0]


def test_substrings_cover_every_bit_once():
    for m in (8, 11, 16):
        layout = _layout(m)
        assert sum(w for _, w in layout) == 256 and layout[-1][0] + layout[-1][1] == 256
    # a single set bit lands in exactly one substring, at the right place
    words = np.zeros((1, 4), np.uint64)
    words[0, 1] = np.uint64(1) << np.uint64(63 - 5)  # bit 69 overall
    hits = [substring(words, o, w)[0] for o, w in _layout(11)]
    assert sum(1 for h in hits if h) == 1


def test_bad_queries_are_typed_errors():
    index = HammingIndex(np.zeros((3, 32), np.uint8))
    with pytest.raises(InvalidHash):
        index.search(b"short", 31)
    with pytest.raises(InvalidHash):
        HammingIndex(np.zeros((3, 31), np.uint8))
    with pytest.raises(ValueError):
        index.search(bytes(32), -1)
    with pytest.raises(ValueError):
        HammingIndex(np.zeros((3, 32), np.uint8), tables=8)


@pytest.mark.parametrize("tables", [16, 11])
def test_near_band_comes_free_and_is_never_wrong(tables):
    codes, queries = _bank(99 + tables, 20000, 40, (3, 20, 31, 34, 38, 43, 50))
    index = HammingIndex(codes, tables=tables)
    got = index.search(queries, 31, also_up_to=43)
    exact = brute_force(index.words, queries, 31)
    wide = brute_force(index.words, queries, 43)
    found = total = 0
    for (rows, dists), (er, _), (wr, wd) in zip(got, exact, wide, strict=True):
        assert set(rows[dists <= 31].tolist()) == set(er.tolist())  # exact inside the radius
        assert set(rows.tolist()) <= set(wr.tolist()) and dists.max() <= 43  # nothing wrong
        band = set(wr[wd > 31].tolist())
        found += len(band & set(rows.tolist()))
        total += len(band)
    assert total >= 100 and found / total >= 0.8  # best effort, but most of the band
