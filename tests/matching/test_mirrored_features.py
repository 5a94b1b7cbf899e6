"""A query's mirrored features come from its own keypoints, mirrored, not a second detection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

import matching
from matching import features
from matching.features import (
    COARSE_FEATURES,
    COARSE_SIDE,
    FEATURE_SIDE,
    N_FEATURES,
    extract_features,
    extract_query_features,
    verify,
)


def _rgb(name: str) -> np.ndarray:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def _same_keypoints(a: matching.LocalFeatures, b: matching.LocalFeatures) -> int:
    """Keypoints of `a` found in `b` at the same place with the same descriptor and angle.

    Two pyramid levels can put a keypoint at the same place: compare with each.
    """
    where: dict[tuple[float, float], list[int]] = {}
    for i, (x, y) in enumerate(b.points):
        where.setdefault((round(float(x), 2), round(float(y), 2)), []).append(i)
    same = 0
    for (x, y), desc, angle in zip(a.points, a.descriptors, a.angles, strict=True):
        for j in where.get((round(float(x), 2), round(float(y), 2)), []):
            turn = (float(angle) - float(b.angles[j]) + 180.0) % 360.0 - 180.0
            if abs(turn) < 1e-3 and np.array_equal(desc, b.descriptors[j]):
                same += 1
                break
    return same


def _orb(grey: np.ndarray, n: int):
    """cv2.ORB itself, as entries were always hashed: (keypoints, descriptors)."""
    orb = cv2.ORB_create(nfeatures=n, scaleFactor=1.2, nlevels=8, fastThreshold=5)
    return orb.detectAndCompute(np.ascontiguousarray(grey), None)


@pytest.mark.parametrize("name", ["astronaut", "camera", "coffee", "rocket", "moon"])
def test_mirrored_side_is_what_detection_on_the_mirrored_grey_image_finds(name):
    # the derived side must be ORB run in full (detection and descriptors) on
    # the mirrored grey image it describes, at both scales
    img = _rgb(name)
    _, mirrored = extract_query_features(img)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    parts = []
    for side, n in ((FEATURE_SIDE, N_FEATURES), (COARSE_SIDE, COARSE_FEATURES)):
        grey, frame, scale = features._detection_image(gray, side)
        keypoints, desc = _orb(grey[:, ::-1], n)
        points = cv2.KeyPoint_convert(keypoints) * np.float32(frame / scale)
        angles = np.array([k.angle for k in keypoints], np.float32)
        parts.append((points * np.float32(FEATURE_SIDE / side), desc, angles))
    detected = features._features(parts, mirrored.width, mirrored.height)
    assert len(mirrored) == len(detected)
    assert _same_keypoints(mirrored, detected) == len(detected)


def test_plain_side_is_unchanged_and_matches_entries_hashed_the_entry_way():
    img = _rgb("chelsea")
    plain, _ = extract_query_features(img)
    before = extract_features(img, coarse=True)
    np.testing.assert_array_equal(plain.points, before.points)
    np.testing.assert_array_equal(plain.descriptors, before.descriptors)
    np.testing.assert_array_equal(plain.angles, before.angles)
    assert len(plain) <= N_FEATURES + COARSE_FEATURES


@pytest.mark.parametrize(
    "size", [(1920, 1080), (451, 300), (102, 102), (333, 517)], ids=lambda s: f"{s[0]}x{s[1]}"
)
def test_a_mirrored_copy_is_verified_against_its_entry_at_any_size(size):
    # sizes whose reduction or enlargement (and CLAHE tiles) are not symmetric:
    # the derived side still verifies against the entry of the mirrored copy
    # as strongly as the plain side does against the entry of the copy
    img = cv2.resize(_rgb("astronaut"), size, interpolation=cv2.INTER_AREA)
    entry = extract_features(img)
    mirrored_entry = extract_features(np.ascontiguousarray(img[:, ::-1]))
    plain, mirrored = extract_query_features(img)
    cfg = matching.MatchConfig()
    straight, flipped = verify(plain, entry), verify(mirrored, mirrored_entry)
    assert cfg.accepts(straight) and cfg.accepts(flipped)
    assert flipped.inliers >= 0.8 * straight.inliers


def test_compute_hashes_brings_the_derived_mirrored_side():
    img = _rgb("coffee")
    h = matching.compute_hashes(img, features=True, mirrored_features=True, for_query=True)
    plain, mirrored = extract_query_features(img)
    np.testing.assert_array_equal(h.features_mirrored.descriptors, mirrored.descriptors)
    np.testing.assert_array_equal(h.features.descriptors, plain.descriptors)
    only = matching.compute_hashes(img, mirrored_features=True, for_query=True)
    assert only.features is None
    np.testing.assert_array_equal(only.features_mirrored.points, mirrored.points)


def test_a_mirrored_crop_of_a_banked_photo_is_found_by_the_mirrored_side():
    bank = matching.Bank()
    for name in ("astronaut", "camera", "rocket"):
        bank.add(name, matching.compute_hashes(_rgb(name), features=True), category="known_aigc")
    crop = np.ascontiguousarray(_rgb("rocket")[60:400, 40:380][:, ::-1])
    best = bank.lookup(
        matching.compute_hashes(crop, features=True, mirrored_features=True, for_query=True)
    ).best
    assert best is not None and best.entry_id == "rocket"
    assert (best.stage, best.variant) == ("local_features", "mirror")
