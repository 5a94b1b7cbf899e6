from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

import watermark

# a test key, named as such: never used outside tests
TEST_KEY = bytes.fromhex("74657374206b6579206f6e6c792121217465737420") + b"-test-key"
OTHER_TEST_KEY = b"another-test-key-not-a-secret!!!"
PAYLOAD = bytes.fromhex("0123456789abcdef")


def _natural(name: str, long_side: int = 768) -> np.ndarray:
    """A natural RGB test image shipped with scikit-image, resized to long_side."""
    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = np.ascontiguousarray(img[..., :3])
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=interp)


@pytest.fixture(scope="session")
def marked():
    """Marked copies of three natural images (the costly part, done once)."""
    return {
        name: (_natural(name), watermark.embed(_natural(name), PAYLOAD, TEST_KEY))
        for name in ("astronaut", "coffee", "chelsea")
    }


@pytest.fixture(scope="session")
def natural():
    return _natural


@pytest.fixture(scope="session")
def key() -> bytes:
    return TEST_KEY


@pytest.fixture(scope="session")
def other_key() -> bytes:
    return OTHER_TEST_KEY


@pytest.fixture(scope="session")
def payload() -> bytes:
    return PAYLOAD
