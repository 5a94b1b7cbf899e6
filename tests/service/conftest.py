"""Fixtures for the HTTP service: a real app on a real database (SQLite file, or
PostgreSQL when AIGC_TEST_POSTGRES_URL is set), real keys, real media.

Fixture names start with `svc_` so that they never shadow another suite's.
"""

from __future__ import annotations

import io
import os
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
ROLES = ("pipeline", "creator", "analyst", "admin", "partner", "resolver")


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="session")
def svc_photo() -> bytes:
    """A small natural photo (skimage's astronaut, 256 px) as JPEG."""
    from skimage import data

    rgb = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    return jpeg_bytes(rgb)


@pytest.fixture(scope="session")
def svc_other_photo() -> bytes:
    from skimage import data

    rgb = np.asarray(Image.fromarray(data.chelsea()).resize((256, 192)))
    return jpeg_bytes(rgb)


@pytest.fixture(scope="session")
def svc_pg_admin():
    """An engine on the PostgreSQL test database, or a skip with the reason."""
    base = os.environ.get("AIGC_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("AIGC_TEST_POSTGRES_URL is not set (no local PostgreSQL server)")
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql+psycopg://" + base.removeprefix("postgresql://"))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # a server that refuses us is the same as no server here
        pytest.skip(f"PostgreSQL at AIGC_TEST_POSTGRES_URL is not usable: {exc}")
    yield base, engine
    engine.dispose()


@contextmanager
def fresh_pg_schema(base: str, engine, prefix: str = "aigc_svc"):
    """A new PostgreSQL schema on the test server, its URL, dropped afterwards."""
    from sqlalchemy import text

    from service.db.base import get_engine

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def svc_pg_url(svc_pg_admin):
    """A fresh PostgreSQL schema for one test, dropped afterwards (others share the server)."""
    with fresh_pg_schema(*svc_pg_admin) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def svc_db_url(request, tmp_path, monkeypatch) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'service.db'}"
    else:
        url = request.getfixturevalue("svc_pg_url")
    # the engine's signals (the bank index) read the same database as the app
    monkeypatch.setenv("AIGC_DATABASE_URL", url)
    from service.db.migrations import ensure_schema

    ensure_schema(url)
    return url


@pytest.fixture
def svc_keys(svc_db_url) -> dict[str, str]:
    """One fresh key per role: role -> secret."""
    from service.db.keys import create_key

    return {role: create_key(role, note="test key", url=svc_db_url)[1] for role in ROLES}


@pytest.fixture
def svc_make_client(svc_db_url):
    """Make a TestClient (httpx, in process, lifespan run) for the real app with given settings."""
    from service.app import create_app
    from service.settings import Settings

    with warnings.catch_warnings():
        # Starlette nudges towards httpx2; the client is still httpx driving the real app
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    clients = []

    def make(**overrides):
        settings = Settings(database_url=svc_db_url, **overrides)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def svc_client(svc_make_client):
    return svc_make_client()
