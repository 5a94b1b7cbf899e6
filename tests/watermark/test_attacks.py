"""A few representative attacks; the full list and the peers live in benchmarks/."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import watermark


def jpeg(img, q):
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]


def resize(img, s):
    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=interp)


def centre_crop(img, area):
    h, w = img.shape[:2]
    s = np.sqrt(area)
    ch, cw = int(h * s), int(w * s)
    y, x = (h - ch) // 2, (w - cw) // 2
    return img[y : y + ch, x : x + cw]


def rotate(img, deg):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def gray(img):
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return np.stack([g] * 3, axis=-1)


ATTACKS = {
    "jpeg50": lambda x: jpeg(x, 50),
    "resize0.5": lambda x: resize(x, 0.5),
    "crop50": lambda x: centre_crop(x, 0.5),
    "rotate5": lambda x: rotate(x, 5),
    "grayscale": gray,
    "flip": lambda x: x[:, ::-1],
    "reshare": lambda x: jpeg(resize(x, 720 / max(x.shape[:2]) * 0.8), 75),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_survives(marked, name, attack, key, payload):
    _, img = marked[name]
    found = watermark.detect(np.ascontiguousarray(ATTACKS[attack](img)), key)
    assert found.detected, (found.score, found.threshold)
    assert found.payload == payload


def test_geometry_is_estimated(marked, key, payload):
    _, img = marked["chelsea"]
    found = watermark.detect(rotate(resize(img, 0.6), 7), key)
    assert found.payload == payload
    assert found.rotation == pytest.approx(7.0, abs=0.5) or found.rotation == pytest.approx(
        -7.0, abs=0.5
    )
    flipped = watermark.detect(np.ascontiguousarray(img[:, ::-1]), key)
    assert flipped.payload == payload and flipped.flipped


@pytest.mark.parametrize("name", ["gravel", "grass"])
def test_edge_crop_of_a_texture(natural, name, key, payload):
    """A few edge pixels cut off a texture: the lattice estimate misses, the keyed
    refinement around the nominal lattice (counted in the bound) finds it."""
    img = watermark.embed(natural(name, 1024), payload, key)
    found = watermark.detect(np.ascontiguousarray(img[7:, 7:]), key)
    assert found.detected, (found.score, found.threshold)
    assert found.payload == payload
    assert found.scale == pytest.approx(1017 / 1024, abs=0.006)


@pytest.mark.parametrize("cut", [3, 12])
@pytest.mark.parametrize("side", ["top-left", "right"])
def test_edge_crops_pass_the_nominal_sync_screen(natural, key, payload, cut, side):
    """The nominal lattice and its period offsets are skipped when the key's sync
    lines do not show there; a crop of a few edge pixels still shows them."""
    img = watermark.embed(natural("grass", 1024), payload, key)
    cropped = img[cut:, cut:] if side == "top-left" else img[:, :-cut]
    found = watermark.detect(np.ascontiguousarray(cropped), key)
    assert found.detected, (found.score, found.threshold)
    assert found.payload == payload


@pytest.mark.parametrize("area", [0.15, 0.10])
def test_a_small_detail_cut_out_is_found(natural, key, payload, area):
    """A crop keeping 10-15% of the area (period 330-405 working px, ~1.2 tiles) is searched."""
    img = watermark.embed(natural("astronaut", 1024), payload, key)
    detail = centre_crop(img, area)
    assert min(detail.shape[:2]) >= watermark.MIN_SIDE
    found = watermark.detect(np.ascontiguousarray(detail), key)
    assert found.detected, (found.score, found.threshold)
    assert found.payload == payload
    assert found.scale == pytest.approx(np.sqrt(area), rel=0.02)
