from __future__ import annotations

import os
from pathlib import Path

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
    """Every test gets its own SQLite file unless it asks for another database."""
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{tmp_path / 'aigc.db'}")
    yield
