"""Short test clips made here from images that ship with scikit-image (no downloads)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata
from skimage.transform import resize

import labeler
from service.db import bank_source
from service.media_encode import encode_frames

SCENES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
OTHER_SCENES = ("coins", "camera", "moon", "page", "text", "brick")


def _image(name: str) -> np.ndarray:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return img[..., :3]


def pan_frames(name: str, seconds: float, fps: int, size: tuple[int, int]):
    """A slow pan and zoom across one image: real motion, one scene."""
    width, height = size
    img = _image(name)
    # work at 1.2 x the frame size so the window has room to move
    big = resize(
        img, (int(height * 1.2), int(width * 1.2)), preserve_range=True, anti_aliasing=True
    )
    big = big.astype(np.uint8)
    count = max(1, round(seconds * fps))
    span_y, span_x = big.shape[0] - height, big.shape[1] - width
    for i in range(count):
        f = i / max(1, count - 1)
        y, x = int(span_y * f * 0.5), int(span_x * f)
        yield big[y : y + height, x : x + width]


def clip_frames(scenes, seconds_per_scene=2.0, fps=10, size=(320, 240)):
    for name in scenes:
        yield from pan_frames(name, seconds_per_scene, fps, size)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Bank indexes and the default engine are per test: each test has its own database."""
    bank_source.drop_caches()
    yield
    bank_source.drop_caches()
    labeler.reset_default_engine()


@pytest.fixture(scope="session")
def make_clip():
    cache: dict = {}

    def make(scenes=SCENES[:4], seconds_per_scene=2.0, fps=10, size=(320, 240), crf=18):
        key = (tuple(scenes), seconds_per_scene, fps, size, crf)
        if key not in cache:
            frames = clip_frames(scenes, seconds_per_scene, fps, size)
            cache[key] = encode_frames(frames, fps, crf=crf)
        return cache[key]

    return make
