from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("AIGC_SHARED_DIR", ROOT.parent / "shared"))
FIXTURES = SHARED / "c2pa-fixtures"
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real C2PA corpus in ../shared; tests that need it skip where it is absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"C2PA fixture corpus not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(autouse=True)
def _isolated_database(tmp_path, monkeypatch):
    """Every test gets its own SQLite file unless it asks for another database, and no
    configuration file (a developer's ./aigc.toml, e.g. the demo's, must not leak in)."""
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{tmp_path / 'aigc.db'}")
    monkeypatch.setenv("AIGC_CONFIG", "none")
    yield


def _remove_sync_lines(img: np.ndarray, key: bytes) -> np.ndarray:
    """What an attacker who located the key's sync lines would do: zero them (5 x 5 bins each).

    Only for a marked image whose tile is 256 px (1024 px long side).
    """
    from watermark.pattern import T, pattern_for

    pat = pattern_for(key)
    h, w = img.shape[:2]
    out = np.empty_like(img)
    for c in range(3):
        f = np.fft.fft2(img[..., c].astype(float))
        for ky, kx in zip(pat.ky[pat.sync], pat.kx[pat.sync], strict=True):
            for sy, sx in ((ky, kx), (-ky, -kx)):
                cy, cx = (sy * h // (2 * T)) % h, (sx * w // (2 * T)) % w
                f[np.ix_((cy + np.arange(-2, 3)) % h, (cx + np.arange(-2, 3)) % w)] = 0
        out[..., c] = np.clip(np.rint(np.real(np.fft.ifft2(f))), 0, 255)
    return out


@pytest.fixture(scope="session")
def remove_sync_lines():
    """The sync-line removal attack on a marked 1024 px image (see `_remove_sync_lines`)."""
    return _remove_sync_lines
