"""ORB level by level at the threshold each level affords is cv2.ORB, point for point."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from matching import features, orb


def _grey(name: str) -> np.ndarray:
    img = getattr(skdata, name)()
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(img.astype(np.uint8))


def _detection(name: str, size=None, side: int = features.FEATURE_SIDE) -> np.ndarray:
    grey = _grey(name)
    if size is not None:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return features._detection_image(grey, side)[0]


def _cv2_orb(img: np.ndarray, n: int):
    """(points, descriptors, angles, levels) of cv2.ORB as entries are hashed with it."""
    o = cv2.ORB_create(nfeatures=n, scaleFactor=1.2, nlevels=8, fastThreshold=5)
    kps, desc = o.detectAndCompute(img, None)
    if desc is None:
        return np.zeros((0, 2), np.float32), None, np.zeros(0, np.float32), np.zeros(0)
    points = cv2.KeyPoint_convert(kps).reshape(-1, 2)
    angles = np.array([k.angle for k in kps], np.float32)
    return points, desc, angles, np.array([k.octave for k in kps])


def _sorted(found):
    points, desc, angles, levels = found
    order = np.lexsort((points[:, 1], points[:, 0], levels))
    return points[order], None if desc is None else desc[order], angles[order], levels[order]


def _assert_same(found, expected, angle_tolerance: float = 0.0):
    a, b = _sorted(found), _sorted(expected)
    assert len(a[0]) == len(b[0])
    if b[1] is None:
        assert a[1] is None
        return
    np.testing.assert_array_equal(a[3], b[3])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[2], b[2], rtol=0, atol=angle_tolerance)
    np.testing.assert_array_equal(a[1], b[1])


MIRROR_ANGLE = 1e-3  # degrees

CASES = [
    ("astronaut", None),
    ("camera", None),
    ("coins", None),
    ("moon", None),  # low contrast: coarse levels fall back to threshold 5
    ("retina", None),
    ("page", None),
    ("text", None),
    # 558 x 640 at 640 px: level 2 is 387.5 rows in double, 387.49997 in float
    ("hubble_deep_field", None),
    ("microaneurysms", None),  # 102 px, enlarged
    ("chelsea", (1333, 1071)),
    ("rocket", (173, 97)),  # small: most levels have no room inside ORB's border
    ("brick", (451, 300)),
]


@pytest.mark.parametrize(("name", "size"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("side,n", [(640, 700), (320, 350)], ids=["640", "320"])
def test_levels_find_what_cv2_orb_finds(name, size, side, n):
    img = _detection(name, size, side)
    _assert_same(orb.Levels(img, n).arrays(), _cv2_orb(img, n))


@pytest.mark.parametrize(("name", "size"), CASES, ids=[c[0] for c in CASES])
def test_mirrored_levels_are_cv2_orb_on_the_mirrored_image(name, size):
    # ORB's own angle on the mirrored image is 180 - angle up to float32
    # rounding (its arctangent of mirrored moments); the descriptors agree
    img = _detection(name, size)
    found = orb.Levels(img, 700).mirrored()
    _assert_same(found, _cv2_orb(np.ascontiguousarray(img[:, ::-1]), 700), MIRROR_ANGLE)


@pytest.mark.parametrize(
    "img",
    [
        np.full((300, 400), 128, np.uint8),  # no corner at all
        np.clip(np.random.default_rng(0).normal(128, 2, (300, 400)), 0, 255).astype(np.uint8),
        np.zeros((40, 40), np.uint8),
    ],
    ids=["flat", "faint-noise", "tiny"],
)
def test_images_short_of_corners_are_what_cv2_orb_finds(img):
    _assert_same(orb.Levels(img, 700).arrays(), _cv2_orb(img, 700))
    mirrored = _cv2_orb(np.ascontiguousarray(img[:, ::-1]), 700)
    _assert_same(orb.Levels(img, 700).mirrored(), mirrored, MIRROR_ANGLE)


def test_level_budgets_are_cv2_orbs():
    # ORB's own split, read off its output on an image with corners to spare
    img = _detection("grass")
    levels = _cv2_orb(img, 700)[3]
    assert orb.level_budgets(700) == np.bincount(levels, minlength=8).tolist()
    assert sum(orb.level_budgets(350)) == 350


def test_a_textured_level_is_searched_above_orbs_threshold():
    # the cheap path: on a photo the first level's threshold is far above 5,
    # and FAST there still finds every corner ORB ranks
    level = orb.pyramid(_detection("astronaut"))[0]
    need = 2 * orb.level_budgets(700)[0]
    t = orb._threshold(level, need, orb.PROBE_START)
    assert t > 4 * orb.FAST_THRESHOLD
    h, w = level.shape
    corners = cv2.FastFeatureDetector_create(t, True).detect(level)
    xy = cv2.KeyPoint_convert(corners)
    inside = (xy[:, 0] >= orb.EDGE) & (xy[:, 0] < w - orb.EDGE)
    inside &= (xy[:, 1] >= orb.EDGE) & (xy[:, 1] < h - orb.EDGE)
    assert inside.sum() >= need
    more = cv2.FastFeatureDetector_create(t + 1, True).detect(level)
    xy = cv2.KeyPoint_convert(more)
    inside = (xy[:, 0] >= orb.EDGE) & (xy[:, 0] < w - orb.EDGE)
    inside &= (xy[:, 1] >= orb.EDGE) & (xy[:, 1] < h - orb.EDGE)
    assert inside.sum() < need
