"""Low-quality queries: matched only when PDQ and the pHash second opinion agree."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

import matching


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


@pytest.fixture(scope="module")
def tiny_copy():
    # a 102 px picture shrunk to 26 px: PDQ still near (30 bits) but its
    # quality (45) is under the 50 PDQ's authors advise
    entry = _rgb(skdata.microaneurysms())
    copy = cv2.resize(entry, (26, 26), interpolation=cv2.INTER_AREA)
    return matching.compute_hashes(entry), matching.compute_hashes(copy)


def _bank(entry: matching.Hashes, config=None, with_phash=True) -> matching.Bank:
    bank = matching.Bank(config) if config else matching.Bank()
    if with_phash:
        bank.add("fake-1", entry, category="misleading_deepfake")
    else:  # an imported hash list: PDQ only
        bank.add("fake-1", pdq=entry.pdq, category="misleading_deepfake")
    return bank


def test_a_low_quality_copy_matches_when_both_hashes_agree(tiny_copy):
    entry, query = tiny_copy
    assert query.quality < matching.DEFAULT_MIN_QUALITY
    result = _bank(entry).lookup(query)
    assert result.low_quality
    assert [m.entry_id for m in result.matches] == ["fake-1"]
    best = result.best
    assert best.hash_type == "pdq+phash" and best.stage == "hash"
    assert best.distance <= 31 and best.phash_distance <= 8


def test_pdq_alone_never_matches_a_low_quality_query(tiny_copy):
    entry, query = tiny_copy
    # no pHash on the entry (a PDQ-only import), or the rule turned off
    assert not _bank(entry, with_phash=False).lookup(query).matches
    off = matching.MatchConfig(corroborate_phash=-1)
    assert not _bank(entry, config=off).lookup(query).matches


def test_low_quality_distinct_images_do_not_match():
    bank = matching.Bank()
    for name in ("astronaut", "camera", "coins", "moon", "microaneurysms"):
        bank.add(name, matching.compute_hashes(_rgb(getattr(skdata, name)())))
    checked = 0
    for face in skdata.lfw_subset()[:40]:
        img = _rgb((face * 255).astype(np.uint8))
        for x in (cv2.GaussianBlur(cv2.resize(img, (200, 200)), (0, 0), 8), (img * 0.15)):
            q = matching.compute_hashes(np.ascontiguousarray(x.astype(np.uint8)))
            if q.quality >= matching.DEFAULT_MIN_QUALITY:
                continue
            checked += 1
            assert not bank.lookup(q).matches
    assert checked >= 20  # the rule was exercised


def test_corroborate_phash_is_validated():
    with pytest.raises(ValueError, match="corroborate_phash"):
        matching.MatchConfig(corroborate_phash=65)
