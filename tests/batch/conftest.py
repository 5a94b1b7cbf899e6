"""Small real images made from the pictures that ship with scikit-image (no downloads)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

SCENES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page")


def scene(name: str, size: int = 192) -> Image.Image:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(img[..., :3])).resize((size, size))


def image_bytes(name: str, fmt: str = "JPEG", size: int = 192, shift: int = 0) -> bytes:
    img = scene(name, size)
    if shift:
        arr = np.asarray(img).astype(np.int16) + shift
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def make_folder(root: Path, count: int, size: int = 192) -> list[str]:
    """`count` distinct images in nested folders; returns their keys."""
    keys = []
    for i in range(count):
        name = SCENES[i % len(SCENES)]
        fmt, ext = ("PNG", "png") if i % 3 == 0 else ("JPEG", "jpg")
        key = f"set{i % 2}/{i:03d}_{name}.{ext}"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes(name, fmt, size, shift=i))
        keys.append(key)
    return sorted(keys)


@pytest.fixture
def media_folder(tmp_path) -> Path:
    folder = tmp_path / "media"
    make_folder(folder, 8)
    return folder
