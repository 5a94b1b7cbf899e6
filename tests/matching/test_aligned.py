"""Aligned comparison: a region of a picture, its geometry known, against the stored thumbnail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from matching import aligned


def _pictures():
    out = {}
    for name in ("rocket", "astronaut", "coffee", "chelsea", "camera", "brick"):
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        h, w = img.shape[:2]
        s = 1024 / max(h, w)
        out[name] = cv2.resize(img[..., :3], (round(w * s), round(h * s)), cv2.INTER_CUBIC)
    return out


PICTURES = _pictures()


def _corner(img, fraction=0.5):
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[: int(h * fraction), w - int(w * fraction) :])


def _turn(img, degrees):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _factor(query, picture):
    # a plain crop keeps the picture's pixel size
    return aligned.THUMB_SIDE / max(picture.shape[:2])


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_a_corner_crop_matches_its_picture_and_no_other(name):
    picture = PICTURES[name]
    query = _corner(picture)
    view = aligned.aligned_view(query, _factor(query, picture))
    own = aligned.aligned_similarity(view, aligned.thumbnail(picture))
    assert own >= 0.9
    for other, img in PICTURES.items():
        if other != name:
            assert (
                aligned.aligned_similarity(view, aligned.thumbnail(img)) < aligned.MIN_CORRELATION
            )


def test_the_turn_and_the_mirror_are_undone_as_the_watermark_reports_them():
    picture = PICTURES["coffee"]
    thumb = aligned.thumbnail(picture)
    f = aligned.THUMB_SIDE / max(picture.shape[:2])
    # the watermark reports a turn of the picture by +a as -a, and a quarter turn likewise
    turned = _turn(picture, 5)
    assert aligned.aligned_similarity(aligned.aligned_view(turned, f, -5.0), thumb) > 0.9
    assert aligned.aligned_similarity(aligned.aligned_view(turned, f, 5.0), thumb) < 0.7
    quarter = np.ascontiguousarray(np.rot90(picture, 1))
    assert aligned.aligned_similarity(aligned.aligned_view(quarter, f, -270.0), thumb) > 0.95
    mirrored = np.ascontiguousarray(_turn(picture, 5)[:, ::-1])
    view = aligned.aligned_view(mirrored, f, 5.0, flipped=True)
    assert aligned.aligned_similarity(view, thumb) > 0.9


def test_a_screenshot_larger_than_the_picture_is_compared_the_other_way_round():
    picture = PICTURES["astronaut"]
    page = np.full((1300, 1300, 3), 240, np.uint8)
    page[150:1174, 120:1144] = picture
    view = aligned.aligned_view(page, aligned.THUMB_SIDE / 1024)
    assert aligned.aligned_similarity(view, aligned.thumbnail(picture)) > 0.8


def test_regions_too_small_or_flat_are_not_compared():
    picture = PICTURES["brick"]
    thumb = aligned.thumbnail(picture)
    tiny = aligned.aligned_view(picture[:120, :120], aligned.THUMB_SIDE / 1024)
    assert min(tiny.shape) < 40 and aligned.aligned_similarity(tiny, thumb) == 0.0
    flat = np.full((600, 600, 3), 128, np.uint8)
    assert aligned.aligned_similarity(aligned.aligned_view(flat, 0.25), thumb) == 0.0


def test_the_thumbnail_blob_round_trips_and_garbage_is_refused():
    picture = PICTURES["chelsea"]
    blob = aligned.thumbnail_blob(picture)
    back = aligned.thumbnail_from_blob(blob)
    assert back is not None and np.array_equal(back, aligned.thumbnail(picture))
    assert max(back.shape) == aligned.THUMB_SIDE
    assert aligned.thumbnail_from_blob(b"not a png") is None
